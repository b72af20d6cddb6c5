// Signs the unsigned network configuration in this browser with the administrative private key (the PKCS#8 PEM
// file "strongroom network keygen" writes). The key file input has no name: the file is read here with
// FileReader, used through Web Crypto and never sent; only the signature goes into the install form.
(function () {
  "use strict";
  var box = document.getElementById("sign-here");
  if (!box || !window.crypto || !window.crypto.subtle) return;
  var input = document.getElementById("admin-key");
  var button = document.getElementById("sign-button");
  var status = document.getElementById("sign-status");
  var signature = document.getElementById("signature");
  box.hidden = false;

  function bytesOf(b64) {
    var text = atob(b64), out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  function base64(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text);
  }
  function say(which) { status.textContent = box.getAttribute("data-" + which); }

  button.addEventListener("click", function () {
    var file = input.files && input.files[0];
    if (!file) { say("no-file"); return; }
    var reader = new FileReader();
    reader.onload = function () {
      var pem = String(reader.result);
      var found = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+\/=\s]+)-----END PRIVATE KEY-----/.exec(pem);
      input.value = "";  // the key is not kept on the page either
      if (!found) { say("not-key"); return; }
      var der;
      try { der = bytesOf(found[1].replace(/\s+/g, "")); } catch (e) { say("not-key"); return; }
      var algorithm = { name: "Ed25519" };
      // extractable only to compare its public half with the key this node trusts
      window.crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]).then(function (key) {
        return window.crypto.subtle.exportKey("jwk", key).then(function (jwk) {
          var x = jwk.x.replace(/-/g, "+").replace(/_/g, "/");
          while (x.length % 4) x += "=";
          var trusted = box.getAttribute("data-admin-key");
          if (trusted && "ed25519:" + x !== trusted) { say("wrong-key"); return; }
          return window.crypto.subtle.sign(algorithm, key, bytesOf(box.getAttribute("data-unsigned")))
            .then(function (sig) { signature.value = base64(sig); say("signed"); });
        });
      }, function (e) {
        say(e && e.name === "NotSupportedError" ? "no-ed25519" : "not-key");
      });
    };
    reader.onerror = function () { say("not-key"); };
    reader.readAsText(file);
  });
})();
