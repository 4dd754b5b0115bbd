// The live inbox page: new items from the Server-Sent Events stream are put on top of the list
// the server rendered, the unread count follows, and what is shown is marked seen. Items can be
// marked read one by one or all at once (the JSON API, with the session and its CSRF token).
// A static file rather than an inline script: the Content-Security-Policy allows 'self' scripts.
// Its words come translated from the page (data-* attributes of #status and #items), and times
// are written in the page's language, so it needs no message catalogue of its own.
(function () {
  "use strict";
  const list = document.getElementById("items");
  const unread = document.getElementById("unread");
  const status = document.getElementById("status");
  const empty = document.getElementById("empty");
  const readAll = document.getElementById("read-all");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const NIL = "00000000-0000-0000-0000-000000000000";
  // The stream sends items at least once (a reconnect may repeat some): drop repeats by id.
  const known = new Set(Array.from(list.children, (li) => li.dataset.id));
  // One format for every time on the page: the page's language, the browser's time zone.
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then((response) => {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    });
  }

  function markSeen(ids) {
    if (!ids.length) return;
    post(list.dataset.seenUrl, { ids: ids.slice(0, 100) }).catch(() => {});
  }

  function showTime(time) {
    time.textContent = format.format(new Date(time.dateTime));
  }

  function markRead(li) {
    const button = li.querySelector(".mark-read");
    button.disabled = true;
    post(list.dataset.readUrl.replace(NIL, li.dataset.id))
      .then(() => {
        if (li.classList.contains("unread")) {
          li.classList.remove("unread");
          unread.textContent = Math.max(0, Number(unread.textContent) - 1);
        }
      })
      .catch(() => { status.textContent = status.dataset.readFailed; })
      .finally(() => { button.disabled = false; });
  }

  function render(item) {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    li.className = "fresh" + (item.read_at ? "" : " unread");
    const text = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = item.title;
    text.append(title);
    if (item.body) {
      const body = document.createElement("span");
      body.textContent = " " + item.body;
      text.append(body);
    }
    const time = document.createElement("time");
    time.dateTime = item.created_at;
    showTime(time);
    text.append(time);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "mark-read secondary";
    button.textContent = list.dataset.markRead;
    li.append(text, button);
    list.prepend(li);
    empty.hidden = true;
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest(".mark-read");
    if (button) markRead(button.closest("li"));
  });

  readAll.addEventListener("click", () => {
    readAll.disabled = true;
    post(readAll.dataset.url)
      .then(() => {
        list.querySelectorAll("li.unread").forEach((li) => li.classList.remove("unread"));
        unread.textContent = "0";
      })
      .catch(() => { status.textContent = status.dataset.readAllFailed; })
      .finally(() => { readAll.disabled = false; });
  });

  list.querySelectorAll("time").forEach(showTime);

  const source = new EventSource(list.dataset.streamUrl);
  source.addEventListener("open", () => { status.textContent = status.dataset.live; });
  source.addEventListener("error", () => { status.textContent = status.dataset.reconnecting; });
  source.addEventListener("notification", (event) => {
    const item = JSON.parse(event.data);
    if (known.has(item.id) || item.archived_at) return;
    known.add(item.id);
    render(item);
    markSeen([item.id]);
  });
  source.addEventListener("unread", (event) => {
    unread.textContent = JSON.parse(event.data).unread;
    // The stream's count has arrived: from now on the count shown is the stream's or follows
    // this page's own changes (a test waits for it before it marks anything read).
    unread.dataset.live = "1";
  });
  // More was missed than the stream replays: the server-rendered list is the way back.
  source.addEventListener("reset", () => { window.location.reload(); });

  markSeen(Array.from(list.children).filter((li) => !li.dataset.seen).map((li) => li.dataset.id));
})();
