/* A staff form with data-confirm asks before it is sent (deleting a visit or a resident,
   retiring a site). A file, not an onsubmit attribute: the Content-Security-Policy allows
   no inline handlers. Without JavaScript the form is sent without asking. */
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
