// Signs a board member's ballot in the browser: the private key is read from a file input that has no name (so
// the form never sends it), imported with Web Crypto (Ed25519, PKCS#8 as `strongroom board keygen` writes it),
// and used to sign exactly the bytes the server checks (strongroom.services.triggers.ballot_bytes: the canonical
// JSON {"choice","member","signed_at","trigger"}, sorted keys, no spaces, UTF-8). Only signed_at and the
// signature are put into the form. Without this script the form still works by pasting a signature made with
// `strongroom trigger sign`.
(function () {
  "use strict";
  var form = document.getElementById("ballot");
  if (!form) return;
  var box = document.getElementById("sign-here");
  var file = document.getElementById("ballot-key");
  var button = document.getElementById("ballot-sign");
  var status = document.getElementById("ballot-status");
  var signedAt = document.getElementById("signed_at");
  var signature = document.getElementById("signature");
  var say = function (name) { status.textContent = form.dataset[name] || ""; };
  box.hidden = false;
  if (!window.crypto || !window.crypto.subtle || !window.TextEncoder) {
    say("msgNocrypto");
    button.disabled = true;
    return;
  }

  function choice() {
    var checked = form.querySelector("input[name=choice]:checked");
    return checked ? checked.value : "";
  }

  // The canonical JSON of canonical_json(): keys in sorted order, no spaces; JSON.stringify escapes strings as
  // Python's json.dumps(ensure_ascii=False) does.
  function ballotBytes(trigger, member, chosen, when) {
    var text = "{" + [
      "\"choice\":" + JSON.stringify(chosen),
      "\"member\":" + JSON.stringify(member),
      "\"signed_at\":" + JSON.stringify(when),
      "\"trigger\":" + JSON.stringify(trigger)
    ].join(",") + "}";
    return new TextEncoder().encode(text);
  }

  function pkcs8(pem) {
    var found = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+\/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
    if (!found) return null;
    var binary = atob(found[1].replace(/\s+/g, ""));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function base64(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }

  function now() {
    return new Date().toISOString().replace(/\.\d+Z$/, "Z");
  }

  function readFile(chosen) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsText(chosen);
    });
  }

  // A signature belongs to one choice: changing the choice after signing clears it.
  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "choice" && form.dataset.signedChoice) {
      signedAt.value = "";
      signature.value = "";
      delete form.dataset.signedChoice;
      status.textContent = "";
    }
  });

  button.addEventListener("click", function () {
    var chosen = choice();
    if (!chosen) { say("msgNochoice"); return; }
    if (!file.files || !file.files.length) { say("msgNokey"); return; }
    readFile(file.files[0]).then(function (pem) {
      var der = pkcs8(pem);
      if (!der) throw new Error("not pkcs8");
      return crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    }).then(function (key) {
      var when = now();
      var bytes = ballotBytes(form.dataset.trigger, form.dataset.member, chosen, when);
      return crypto.subtle.sign({ name: "Ed25519" }, key, bytes).then(function (signed) {
        signedAt.value = when;
        signature.value = base64(signed);
        form.dataset.signedChoice = chosen;
        file.value = "";  // the key is no longer needed on the page
        say("msgSigned");
      });
    }).catch(function () {
      say("msgBadkey");
    });
  });
})();
