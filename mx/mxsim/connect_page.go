package mxsim

// connectNotFoundHTML is the page of an unknown or expired widget URL.
const connectNotFoundHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MX Connect (simulated)</title></head>
<body><main><h1>MX Connect (simulated)</h1>
<p id="not-found">This widget URL is unknown or has expired. Widget URLs are valid for 10 minutes.</p></main></body></html>
`

// connectHTML is the simulated Connect widget. It is self-contained (inline
// CSS and JS, no external assets); "/*CONFIG*/null" is replaced by the
// session's connectConfig. Every step is built when it is entered, so an
// element a test waits for exists only when it is meaningful.
const connectHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MX Connect (simulated)</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f1f3f6;color:#1b1f24}
body.dark{background:#14171b;color:#e6e8eb}
main{max-width:420px;margin:32px auto;padding:24px;background:#fff;border-radius:12px;box-shadow:0 2px 14px rgba(0,0,0,.12)}
body.dark main{background:#22262c}
header{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#7a818a;margin-bottom:12px}
h1{font-size:20px;margin:0 0 16px}
p{line-height:1.4}
button{display:block;width:100%;box-sizing:border-box;padding:12px;margin:8px 0;font-size:15px;border:1px solid #2b63d9;border-radius:8px;background:#2b63d9;color:#fff;cursor:pointer;text-align:center}
button.choice{background:transparent;color:inherit;border-color:#b9c0c8;text-align:left}
button.choice.selected{border-color:#2b63d9;box-shadow:0 0 0 2px #2b63d9 inset}
button.link{background:transparent;border:none;color:#2b63d9;padding:6px}
button:disabled{opacity:.6;cursor:default}
label{display:block;font-size:14px;margin-top:8px}
input{display:block;width:100%;box-sizing:border-box;padding:10px;margin:4px 0 10px;font-size:15px;border:1px solid #9aa3ad;border-radius:6px;background:inherit;color:inherit}
img.challenge{width:64px;height:64px;image-rendering:pixelated;border:1px solid #9aa3ad;vertical-align:middle;margin-right:8px}
.error{color:#c0392b;margin:8px 0}
.muted{color:#7a818a;font-size:13px}
.spinner{width:28px;height:28px;border:3px solid #c9d3e0;border-top-color:#2b63d9;border-radius:50%;animation:spin .8s linear infinite;margin:16px auto}
@keyframes spin{to{transform:rotate(360deg)}}
</style>
</head>
<body>
<main><header>MX Connect &middot; simulated</header><div id="app" aria-live="polite"></div></main>
<script>
(function () {
  "use strict";
  var cfg = /*CONFIG*/null;
  var base = "/_sim/connect/" + encodeURIComponent(cfg.token);
  var app = document.getElementById("app");
  window.mxEvents = window.mxEvents || [];
  if (cfg.color_scheme === "dark") document.body.className = "dark";

  // post sends an event as MX Connect does (mxenabled/connect-widget,
  // src/utilities/PostMessage.js sendPostMessage): {mx: true, type,
  // metadata} to the parent and to the opener, at the referrer's origin.
  // Every Connect event's metadata carries user_guid and session_guid
  // (mxenabled/widget-post-message-definitions, lib/post_message_definition.yml,
  // user_session_properties). The simulator's own: "*" when there is no
  // referrer (MX posts nowhere then), so that a top-level page receives its
  // own events, and the window.mxEvents record.
  var target = (document.referrer.match(/^[^:]+:\/\/[^/]+/) || ["*"])[0];
  function post(type, metadata) {
    var md = {user_guid: cfg.user_guid, session_guid: cfg.session_guid};
    Object.keys(metadata).forEach(function (k) { md[k] = metadata[k]; });
    var ev = {mx: true, type: type, metadata: md};
    window.mxEvents.push(ev);
    try { window.parent.postMessage(ev, target); } catch (e) {}
    if (window.opener && window.opener !== window.parent) {
      try { window.opener.postMessage(ev, target); } catch (e) {}
    }
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  // step is the step shown; stepChange {previous, current} follows every
  // change after mx/connect/loaded (connect-widget, src/Connect.tsx).
  var step = "", loaded = false;
  function show(next, title, nodes) {
    if (next !== step) {
      if (loaded) post("mx/connect/stepChange", {previous: step, current: next});
      step = next;
    }
    app.textContent = "";
    app.setAttribute("data-step", next);
    app.appendChild(el("h1", {text: title}));
    nodes.forEach(function (n) { if (n) app.appendChild(n); });
  }

  function showError(msg) {
    var e = document.getElementById("error");
    if (!e) { e = el("div", {id: "error", "class": "error", role: "alert"}); app.appendChild(e); }
    e.textContent = msg;
  }

  function api(method, path, body) {
    var opts = {method: method, headers: {"Accept": "application/json"}, cache: "no-store"};
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(base + path, opts).then(function (res) {
      return res.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) {}
        return {status: res.status, json: j};
      });
    });
  }

  function message(r) {
    return (r.json && r.json.error && r.json.error.message) || ("HTTP " + r.status);
  }

  // ---- steps

  function institutions() {
    var buttons = cfg.institutions.map(function (inst) {
      var b = el("button", {type: "button", "class": "choice", "data-institution": inst.code, text: inst.name});
      b.addEventListener("click", function () { select(inst); });
      return b;
    });
    show("search", "Select your institution", buttons);
  }

  // selectedInstitution {code, guid, name, url}: connect-widget,
  // src/views/search/views/PopularInstitutionsList.js.
  function select(inst) {
    post("mx/connect/selectedInstitution", {code: inst.code, guid: inst.guid, name: inst.name, url: inst.url});
    credentials(inst);
  }

  function credentials(inst) {
    var form = el("form", {id: "credentials", autocomplete: "off"});
    inst.credentials.forEach(function (cr) {
      var id = "field-" + cr.name;
      form.appendChild(el("label", {"for": id, text: cr.label}));
      form.appendChild(el("input", {id: id, name: cr.name, type: cr.type === "PASSWORD" ? "password" : "text",
        autocomplete: "off", spellcheck: "false"}));
    });
    var connect = el("button", {id: "connect", type: "submit", text: "Continue"});
    form.appendChild(connect);
    var nodes = [el("p", {"class": "muted", text: "Enter your " + inst.name + " credentials."}), form];
    if (!cfg.current_institution) {
      var back = el("button", {id: "back", type: "button", "class": "link", text: "Back"});
      // backToSearch {}: connect-widget, src/Connect.tsx _handleCredentialsGoBack.
      back.addEventListener("click", function () { post("mx/connect/backToSearch", {}); institutions(); });
      nodes.push(back);
    }
    show("enterCreds", inst.name, nodes);
    var first = form.querySelector("input");
    if (first) first.focus();
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var creds = {};
      inst.credentials.forEach(function (cr) { creds[cr.name] = form.elements[cr.name].value; });
      connect.disabled = true;
      // enterCredentials {institution: {code, guid}} as the member is
      // created (connect-widget, src/views/credentials/CreateMemberForm.js);
      // createMemberError {institution_guid, institution_code} when that
      // fails (src/components/MemberError.js).
      post("mx/connect/enterCredentials", {institution: {code: inst.code, guid: inst.guid}});
      function refused(msg) {
        connect.disabled = false;
        post("mx/connect/createMemberError", {institution_guid: inst.guid, institution_code: inst.code});
        showError(msg);
      }
      api("POST", "/members", {institution_code: inst.code, credentials: creds}).then(function (r) {
        if (r.status !== 200) { refused(message(r)); return; }
        track(r.json, inst.name);
      }, function (err) { refused(String(err)); });
    });
  }

  // ---- a member's progress

  var memberGUID = "", instName = "", lastStatus = null, answeredKey = "", shownKey = "", done = false, timer = null;

  function track(m, name) {
    memberGUID = m.member_guid;
    instName = name || m.institution_code;
    lastStatus = null; answeredKey = ""; shownKey = ""; done = false;
    update(m);
    schedulePoll();
  }

  function schedulePoll() {
    if (done) return;
    clearTimeout(timer);
    timer = setTimeout(poll, 300);
  }

  function poll() {
    if (done) return;
    api("GET", "/members/" + encodeURIComponent(memberGUID)).then(function (r) {
      if (r.status === 404) { failed("NOT_FOUND", message(r)); return; }
      if (r.status === 200) update(r.json);
    }).catch(function (err) {
      if (window.console) console.error(err);
    }).then(schedulePoll);
  }

  function challengeKey(m) {
    return (m.challenges || []).map(function (c) { return c.guid; }).join(",");
  }

  function update(m) {
    if (done) return;
    if (!instName) instName = m.institution_name || m.institution_code;
    // memberStatusUpdate {member_guid, connection_status (the number)} when
    // the status differs from the one seen before: none for the first
    // (connect-widget, src/views/connecting/Connecting.js).
    if (m.connection_status !== lastStatus) {
      if (lastStatus !== null) {
        post("mx/connect/memberStatusUpdate", {member_guid: m.member_guid, connection_status: m.connection_status_id});
      }
      lastStatus = m.connection_status;
    }
    if (m.is_being_aggregated) { progress(m); return; }
    if (m.connection_status === "CHALLENGED") {
      var key = challengeKey(m);
      if (key === answeredKey) { progress(m); return; } // a poll from before the answer
      if (key !== shownKey) mfa(m, key);
      return;
    }
    if (m.connection_status === "CONNECTED") { connected(m); return; }
    failed(m.connection_status, "");
  }

  function progress(m) {
    var p = document.getElementById("progress"), ps = document.getElementById("progress-status");
    if (p && ps && app.getAttribute("data-step") === "connecting") {
      p.setAttribute("data-status", m.connection_status);
      ps.textContent = m.connection_status;
      return;
    }
    shownKey = "";
    show("connecting", instName ? "Connecting to " + instName : "Connecting", [
      el("div", {id: "progress", "data-status": m.connection_status}, [
        el("div", {"class": "spinner"}),
        el("p", {"class": "muted"}, [document.createTextNode("Status: "), el("span", {id: "progress-status", text: m.connection_status})])
      ])
    ]);
  }

  function mfa(m, key) {
    shownKey = key;
    var answers = {}, inputs = [], nodes = [];
    var submit = null;
    function send() {
      inputs.forEach(function (i) { answers[i.getAttribute("data-challenge")] = i.value; });
      if (submit) submit.disabled = true;
      // submitMFA {member_guid}: connect-widget, src/views/mfa/MFAStep.js.
      post("mx/connect/submitMFA", {member_guid: m.member_guid});
      api("PUT", "/members/" + encodeURIComponent(m.member_guid) + "/resume", {answers: answers}).then(function (r) {
        if (r.status !== 202) { if (submit) submit.disabled = false; showError(message(r)); return; }
        answeredKey = key;
        update(r.json);
      }, function (err) { if (submit) submit.disabled = false; showError(String(err)); });
    }
    m.challenges.forEach(function (ch) {
      var box = el("div", {"class": "challenge", "data-challenge-type": ch.type});
      box.appendChild(el("label", {text: ch.label}));
      if (ch.type === "OPTIONS" || ch.type === "IMAGE_OPTIONS") {
        var opts = ch.type === "OPTIONS" ? ch.options : ch.image_options;
        (opts || []).forEach(function (o) {
          var b = el("button", {type: "button", "class": "choice", "data-challenge": ch.guid, "data-value": o.value},
            [o.data_uri ? el("img", {"class": "challenge", src: o.data_uri, alt: o.label}) : null, document.createTextNode(o.label)]);
          b.addEventListener("click", function () {
            answers[ch.guid] = o.value;
            box.querySelectorAll("button").forEach(function (x) { x.classList.toggle("selected", x === b); });
            var all = m.challenges.every(function (c) { return answers[c.guid] !== undefined || c.type === "TEXT" || c.type === "TOKEN" || c.type === "IMAGE_DATA"; });
            if (!inputs.length && all) send();
          });
          box.appendChild(b);
        });
      } else {
        if (ch.type === "IMAGE_DATA" && ch.image_data) box.appendChild(el("img", {"class": "challenge", src: ch.image_data, alt: ""}));
        var input = el("input", {type: "text", "data-challenge": ch.guid, name: "challenge-" + ch.guid, autocomplete: "off",
          inputmode: ch.type === "TOKEN" ? "numeric" : "text"});
        input.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { ev.preventDefault(); send(); } });
        inputs.push(input);
        box.appendChild(input);
      }
      nodes.push(box);
    });
    if (inputs.length) {
      submit = el("button", {id: "submit-mfa", type: "button", text: "Continue"});
      submit.addEventListener("click", send);
      nodes.push(submit);
    }
    show("mfa", instName + " needs more information", [el("div", {id: "mfa"}, nodes)]);
    if (inputs.length) inputs[0].focus();
  }

  function connected(m) {
    done = true;
    // memberConnected {user_guid, member_guid}: connect-widget,
    // src/views/connecting/Connecting.js.
    post("mx/connect/memberConnected", {member_guid: m.member_guid});
    show("connected", "Connected", [
      el("div", {id: "connected", "data-member-guid": m.member_guid},
        [el("p", {text: "You have successfully connected to " + instName + "."})])
    ]);
  }

  function failed(status, msg) {
    done = true;
    var retry = el("button", {id: "retry", type: "button", "class": "link", text: "Try again"});
    // backToSearch as the error's primary action (connect-widget,
    // src/views/loginError/LoginError.js).
    retry.addEventListener("click", function () { post("mx/connect/backToSearch", {}); start(); });
    show("loginError", "Something went wrong", [
      el("div", {id: "failed", "data-status": status},
        [el("p", {text: msg || ("The connection ended " + status + ".")})]),
      retry
    ]);
  }

  function start() {
    clearTimeout(timer);
    done = true;
    if (cfg.current_institution) { credentials(cfg.current_institution); return "enterCreds"; }
    institutions();
    return "search";
  }

  var initial;
  if (cfg.current_member_guid) {
    initial = "connecting";
    instName = "";
    progress({connection_status: ""});
    memberGUID = cfg.current_member_guid;
    done = false;
    poll();
  } else {
    initial = start();
  }
  // loaded {initial_step}: connect-widget, src/Connect.tsx.
  post("mx/connect/loaded", {initial_step: initial});
  loaded = true;
})();
</script>
</body>
</html>
`
