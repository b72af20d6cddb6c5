"""``python -m strongroom``: the ``strongroom`` command (for ``python -X importtime -m strongroom ...`` and hosts
without the console script on their PATH)."""

from strongroom.cli.main import main

if __name__ == "__main__":
    main()
