/* Visit photos are scaled down in the browser before they are sent: long side at most
   data-scale-photos pixels, JPEG. A phone's 4-12 MB photo then uploads as a few hundred KB
   over a weak mobile connection. Without JavaScript, or for a file the browser cannot draw,
   the original is sent and the server scales it (it accepts up to its size limit). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-scale-photos]");
  if (!form || !window.DataTransfer || !window.Promise || !HTMLCanvasElement.prototype.toBlob) {
    return;
  }
  var maxSide = parseInt(form.getAttribute("data-scale-photos"), 10);
  var input = form.querySelector('input[type="file"][name="photos"]');
  var status = form.querySelector("[data-photo-status]");
  var sending = false;

  function picture(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () { resolve(image); };
      image.onerror = function (error) { URL.revokeObjectURL(url); reject(error); };
      image.src = url;
    });
  }

  function scaled(file) {
    // Anything but a JPEG or PNG goes as it is: the server says what is wrong with it.
    if (!/^image\/(jpeg|png)$/.test(file.type)) {
      return Promise.resolve(file);
    }
    return picture(file).then(function (image) {
      var width = image.naturalWidth, height = image.naturalHeight;
      var scale = Math.min(1, maxSide / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // a transparent PNG becomes a JPEG on white, not black
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(image.src);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          try {
            var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
            resolve(blob && blob.size < file.size ? new File([blob], name, { type: "image/jpeg" }) : file);
          } catch (error) { // an old WebView without the File constructor
            resolve(file);
          }
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files || []);
    if (sending) { // a second tap while the photos are being scaled: one visit is sent
      event.preventDefault();
      return;
    }
    if (!files.length) {
      return;
    }
    event.preventDefault();
    sending = true;
    status.hidden = false;
    status.textContent = "正在缩小照片，请稍候…";
    var sent = false;
    function send(smaller) {
      // Whatever happens while scaling, the form goes, once: with the smaller photos when
      // they are ready, else with the originals (the server scales those itself).
      if (sent) {
        return;
      }
      sent = true;
      clearTimeout(watchdog);
      try {
        if (smaller) {
          var list = new DataTransfer();
          smaller.forEach(function (file) { list.items.add(file); });
          input.files = list.files;
        }
      } catch (error) {
        // input.files keeps the originals
      }
      status.textContent = "正在上传…";
      HTMLFormElement.prototype.submit.call(form);
    }
    // A picture that never finishes decoding must not hold the form: send the originals.
    var watchdog = setTimeout(function () { send(null); }, 30000);
    // One photo at a time: a dozen 12-megapixel pictures decoded at once would fill a phone's memory.
    var done = [];
    files.reduce(function (chain, file) {
      return chain.then(function () {
        return scaled(file).then(function (small) { done.push(small); });
      });
    }, Promise.resolve()).then(function () { send(done); }, function () { send(null); });
  });

  // Back to this page from the next one (the back-forward cache): the form can be sent again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      sending = false;
      status.hidden = true;
    }
  });
})();
