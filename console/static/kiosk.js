// The door screen (templates/console/kiosk.html): polls /kiosk/state and swaps the QR in place.
(function () {
  // The link is /kiosk#<token>: the fragment never leaves the browser, so the
  // token goes to the server only in a header, and into no access log.
  var token = decodeURIComponent(location.hash.slice(1));
  var img = document.getElementById("qr");
  var statusLine = document.getElementById("status");
  var version = 0;
  function gone() {
    statusLine.textContent = "此签到展示链接无效或已被撤销，请联系社工重新获取链接";
    img.style.visibility = "hidden";
  }
  function show(state) {
    document.getElementById("title").textContent = state.title;
    document.getElementById("where").textContent = state.location || "";
    document.title = "签到 · " + state.title;
    if (state.code !== img.dataset.code) {
      img.src = state.qr;            // swap in place: no page reload
      img.dataset.code = state.code;
      version += 1;
      img.dataset.version = String(version);
      img.style.visibility = "visible";
    }
    var a = state.attendance;
    document.getElementById("registered").textContent = a.registered.participants + a.registered.volunteers;
    document.getElementById("checked-in").textContent = a.checked_in;
    document.getElementById("inside").textContent = a.inside_now;
    statusLine.textContent = "";
  }
  function nextDelay(state) {
    // Just after the next code is out; counts refresh at least every 5 s.
    var untilRotation = Date.parse(state.refresh_at) - Date.parse(state.server_time) + 250;
    return Math.max(300, Math.min(5000, untilRotation));
  }
  function poll() {
    fetch("/kiosk/state", {cache: "no-store", headers: {"X-Kiosk-Token": token}})
      .then(function (response) {
        if (response.status === 404) {
          gone();
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (state) {
        if (state === null) { return; }
        show(state);
        setTimeout(poll, nextDelay(state));
      })
      .catch(function () {
        statusLine.textContent = "网络异常，正在重试…";
        setTimeout(poll, 2000);
      });
  }
  if (token) { poll(); } else { gone(); }
})();
