// gatehouse review page: live updates and the decision buttons. No build step, no framework.
"use strict";

(function () {
  const live = document.getElementById("live");

  // Replaces the page's main part with a fresh copy, unless the reviewer is typing a note.
  async function refresh(version) {
    const note = document.getElementById("message");
    if (note && note.value.trim() !== "") {
      live.textContent = "changed: reload";
      live.className = "live stale";
      return;
    }
    const response = await fetch(location.pathname, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = fresh.getElementById("main");
    if (!main) return;
    document.getElementById("main").replaceChildren(...main.childNodes);
    document.title = fresh.title;
    document.body.dataset.version = fresh.body.dataset.version || version;
  }

  function listen() {
    if (!window.EventSource) return;
    const events = new EventSource("/events");
    events.addEventListener("version", (e) => {
      live.className = "live on";
      if (e.data !== document.body.dataset.version) refresh(e.data).catch(() => {});
    });
    events.onerror = () => { live.className = "live off"; };
  }

  // A decision: request changes needs a note; buttons say what is happening meanwhile.
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (form.id !== "decide") return;
    const button = e.submitter;
    const note = document.getElementById("message");
    if (button && button.id === "request-changes" && note.value.trim() === "") {
      e.preventDefault();
      note.placeholder = "Say what to change: the agent gets this note";
      note.focus();
      return;
    }
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    if (button) {
      // A disabled submitter is not sent: keep the action on the form itself.
      form.action = button.formAction;
      button.textContent = button.textContent + "…";
    }
  });

  listen();
})();
