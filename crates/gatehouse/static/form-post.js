// The authorization response a page carries as a form (response_mode=form_post): sent to the
// application as soon as the page is read. The form's own button does it where this does not run.
document.getElementById("form-post").submit();
