// The 录音 buttons of the recordings page: record from the microphone (MediaRecorder) and
// send it as the file input would, with the form's CSRF token. Without MediaRecorder the
// buttons stay hidden and the file input does the job.
(function () {
  if (!window.MediaRecorder || !navigator.mediaDevices) return;
  var LABEL = "● 录音";

  function send(form, blob, status) {
    var data = new FormData(form);
    data.set("audio", blob, blob.type.indexOf("mp4") >= 0 ? "recording.m4a" : "recording.webm");
    status.textContent = "正在上传……";
    // A stored recording answers with a redirect: reload the page to hear it and see the
    // message; a refused one with the page again, whose message is shown here.
    fetch(form.action, { method: "POST", body: data, redirect: "manual" }).then(
      function (reply) {
        if (reply.type === "opaqueredirect") {
          location.reload();
          return;
        }
        return reply.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var problem = page.querySelector(".flash.error");
          status.textContent = problem
            ? problem.textContent
            : "上传没有成功（" + reply.status + "），请再试一次。";
        });
      },
      function () {
        status.textContent = "网络不好，没能上传，请再试一次。";
      }
    );
  }

  document.querySelectorAll(".rec-start").forEach(function (button) {
    var form = button.form;
    var status = form.querySelector(".rec-status");
    var recorder = null;
    button.hidden = false;
    button.addEventListener("click", function () {
      if (recorder) {
        recorder.stop();
        return;
      }
      navigator.mediaDevices.getUserMedia({ audio: true }).then(
        function (stream) {
          var chunks = [];
          recorder = new MediaRecorder(stream);
          recorder.ondataavailable = function (event) {
            chunks.push(event.data);
          };
          recorder.onstop = function () {
            stream.getTracks().forEach(function (track) {
              track.stop();
            });
            recorder = null;
            button.textContent = LABEL;
            send(form, new Blob(chunks, { type: chunks.length ? chunks[0].type : "" }), status);
          };
          recorder.start();
          // The server refuses longer recordings: stop at the limit rather than lose it.
          var limit = setTimeout(function () {
            if (recorder) recorder.stop();
          }, 1000 * Number(button.dataset.maxSeconds) - 500);
          recorder.addEventListener("stop", function () {
            clearTimeout(limit);
          });
          button.textContent = "■ 停止录音";
          status.textContent = "正在录音……读完请点“停止录音”。";
        },
        function () {
          status.textContent = "无法使用麦克风：请允许浏览器使用麦克风，或者上传录音文件。";
        }
      );
    });
  });
})();
