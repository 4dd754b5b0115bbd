// The live inbox page: new items from the Server-Sent Events stream are put on top of the list
// the server rendered, the unread count follows, and what is shown is marked seen.
// A static file rather than an inline script: the Content-Security-Policy allows 'self' scripts.
(function () {
  "use strict";
  const list = document.getElementById("items");
  const unread = document.getElementById("unread");
  const status = document.getElementById("status");
  const empty = document.getElementById("empty");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // The stream sends items at least once (a reconnect may repeat some): drop repeats by id.
  const known = new Set(Array.from(list.children, (li) => li.dataset.id));

  function markSeen(ids) {
    if (!ids.length) return;
    fetch(list.dataset.seenUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ ids: ids.slice(0, 100) }),
    }).catch(() => {});
  }

  function render(item) {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    li.className = "fresh" + (item.read_at ? "" : " unread");
    const title = document.createElement("strong");
    title.textContent = item.title;
    li.append(title);
    if (item.body) {
      const body = document.createElement("span");
      body.textContent = " " + item.body;
      li.append(body);
    }
    const time = document.createElement("time");
    time.dateTime = item.created_at;
    time.textContent = new Date(item.created_at).toLocaleString();
    li.append(time);
    list.prepend(li);
    empty.hidden = true;
  }

  const source = new EventSource(list.dataset.streamUrl);
  source.addEventListener("open", () => { status.textContent = "live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  source.addEventListener("notification", (event) => {
    const item = JSON.parse(event.data);
    if (known.has(item.id) || item.archived_at) return;
    known.add(item.id);
    render(item);
    markSeen([item.id]);
  });
  source.addEventListener("unread", (event) => {
    unread.textContent = JSON.parse(event.data).unread;
  });
  // More was missed than the stream replays: the server-rendered list is the way back.
  source.addEventListener("reset", () => { window.location.reload(); });

  markSeen(Array.from(list.children).filter((li) => !li.dataset.seen).map((li) => li.dataset.id));
})();
