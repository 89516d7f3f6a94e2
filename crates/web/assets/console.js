// ctxd console: the little JavaScript that pays. Pages work without it; with it,
// status badges follow the source's event stream live, and copy buttons copy.
(function () {
  "use strict";

  // Live status: every element with data-watch="SOURCE_ID" follows that source.
  function watch(element) {
    var id = element.getAttribute("data-watch");
    if (!id || !window.EventSource) return;
    var stream = new EventSource("/sources/" + encodeURIComponent(id) + "/live");
    stream.addEventListener("source", function (event) {
      var source;
      try { source = JSON.parse(event.data); } catch (e) { return; }
      document.querySelectorAll('[data-watch="' + id + '"]').forEach(function (badge) {
        badge.textContent = source.status;
        badge.className = "badge " + source.status;
      });
      document.querySelectorAll('[data-watch-revision="' + id + '"]').forEach(function (cell) {
        cell.textContent = source.revision == null ? "–" : String(source.revision);
      });
      var final = ["COMPLETED", "FAILED", "CANCELED"].indexOf(source.status) >= 0;
      var page = document.body.getAttribute("data-source");
      // On the source's own page a finished run brings new outputs: show them.
      if (final && page === id && element.getAttribute("data-initial") !== source.status + ":" + (source.last_run && source.last_run.id)) {
        stream.close();
        window.location.reload();
      }
    });
    stream.addEventListener("error", function () {
      // The server ends the stream after a final status; nothing more to follow.
      if (stream.readyState === EventSource.CLOSED) return;
    });
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-copy"));
        if (!target || !navigator.clipboard) return;
        navigator.clipboard.writeText(target.textContent).then(function () {
          var label = button.textContent;
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  // File upload: presign, PUT the file to the signed URL, then submit the form with
  // the file's key. Without JavaScript the file field stays hidden.
  function uploads() {
    document.querySelectorAll("[data-upload]").forEach(function (box) {
      box.hidden = false;
      var input = box.querySelector("input[type=file]");
      var key = box.querySelector("input[name=file_key]");
      var status = box.querySelector("[data-upload-status]");
      var form = box.closest("form");
      form.addEventListener("submit", function (event) {
        var file = input.files && input.files[0];
        if (!file || key.value) return;
        event.preventDefault();
        status.textContent = "Uploading " + file.name + "…";
        var type = file.type || "application/octet-stream";
        fetch("/uploads", {
          method: "POST",
          headers: { "content-type": "application/json", "x-csrf-token": input.getAttribute("data-csrf") },
          body: JSON.stringify({ filename: file.name, content_type: type, size: file.size })
        }).then(function (response) {
          return response.json().then(function (body) {
            if (!response.ok) throw new Error(body.error || response.statusText);
            return body;
          });
        }).then(function (body) {
          return fetch(body.upload_url, { method: "PUT", headers: { "content-type": type }, body: file })
            .then(function (put) {
              if (!put.ok) throw new Error("the upload was refused (" + put.status + ")");
              key.value = body.file_key;
              form.submit();
            });
        }).catch(function (error) {
          status.textContent = "Upload failed: " + error.message;
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    uploads();
    var seen = {};
    document.querySelectorAll("[data-watch]").forEach(function (element) {
      var id = element.getAttribute("data-watch");
      if (seen[id]) return;
      seen[id] = true;
      watch(element);
    });
    copyButtons();
  });
})();
