// The technician console: every device with its state and why, a live event log, per-device actions and,
// in simulate mode, the simulator controls. Built on posd.js, like any POS page would be.
import { Posd, PosdError } from "./posd.js";

const $ = (id) => document.getElementById(id);
const posd = new Posd(); // same origin: the console is served by the daemon it talks to
const TOKEN_KEY = "posd.token";
const MAX_LOG_LINES = 500;
const SYMBOLOGIES = ["EAN13", "EAN8", "UPCA", "UPCE", "CODE39", "CODE93", "CODE128", "GS1_128", "ITF", "CODABAR",
  "QR", "GS1_QR", "DATAMATRIX", "GS1_DATAMATRIX", "PDF417", "AZTEC", "GS1_DATABAR", "UNKNOWN"];

/** id → {device, row}: rows are built once and updated in place, so typed input survives live updates. */
const rows = new Map();
/** Test-print job id → the output element that follows its state (printer.job events). */
const testJobs = new Map();
/** The latest printer.job event per job: a fast printer can finish before the 202 answer reaches the page. */
const jobStates = new Map();
const refreshTimers = new Map();
let subscription = null;

// -- small DOM helpers ------------------------------------------------------------------------------
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function field(label, input) {
  return el("label", {}, `${label} `, input);
}

function describeError(err) {
  if (err instanceof PosdError) return `${err.code} (${err.status || "no answer"}): ${err.detail || err.title}`;
  return String(err && err.message ? err.message : err);
}

/** A button that runs `work`, shows its outcome in the row's output, and cannot be double-clicked meanwhile. */
function action(out, label, work, title = "") {
  const button = el("button", { type: "button", textContent: label, title });
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.classList.remove("failed");
    out.textContent = `${label}…`;
    try {
      const shown = await work();
      if (shown !== undefined) out.replaceChildren(shown);
    } catch (err) {
      out.classList.add("failed");
      out.textContent = `${label} failed: ${describeError(err)}`;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

// -- device actions, by kind ------------------------------------------------------------------------
function testReceipt(id) {
  return {
    blocks: [
      { type: "text", text: "posd console test print", align: "center", bold: true },
      { type: "text", text: `${id} ${new Date().toISOString()}` },
      { type: "rule" },
      { type: "row", left: "Test item", right: "1.00" },
      { type: "feed", lines: 2 },
      { type: "cut" },
    ],
  };
}

function showJob(out, job) {
  out.classList.toggle("failed", job.state === "failed" || job.state === "held");
  out.textContent = `Test print job ${job.id}: ${job.state}${job.reason ? ` (${job.reason})` : ""}`;
}

function deviceActions(device, out) {
  const id = device.id;
  const controls = [action(out, "Health check", async () => {
    const result = await posd.checkHealth(id, "internal");
    return `${result.ok ? "healthy" : "NOT healthy"}: ${result.text}`;
  }, "UPOS CheckHealth, internal: no physical effect")];
  controls.push(action(out, "Reconnect", async () => {
    await posd.request("POST", `/api/v1/devices/${encodeURIComponent(id)}/reconnect`, {});
    return "reconnecting now";
  }, "Retry the connection now instead of waiting out the backoff"));

  if (device.kind === "printer") {
    controls.push(action(out, "Test print", async () => {
      const job = await posd.print(id, testReceipt(id));
      const latest = jobStates.get(job.id) || job;
      if (!["done", "failed", "cancelled"].includes(latest.state)) testJobs.set(job.id, out);
      showJob(out, latest);
      return undefined;
    }, "Prints a small receipt through the jobs API"));
  } else if (device.kind === "scale") {
    controls.push(action(out, "Read weight", async () => {
      const w = await posd.readWeight(id, { stable: true, timeoutMs: 3000 });
      return `${w.value} ${w.unit} (${w.status})`;
    }, "Waits up to 3 s for a stable weight"));
  } else if (device.kind === "display") {
    const line1 = el("input", { type: "text", value: "Hello", maxLength: 40 });
    const line2 = el("input", { type: "text", value: "from posd", maxLength: 40 });
    controls.push(el("fieldset", {}, el("legend", { textContent: "Customer display" }),
      field("Line 1", line1), field("Line 2", line2),
      action(out, "Show text", async () => {
        await posd.displayText(id, [line1.value, line2.value]);
        return `showing “${line1.value}” / “${line2.value}”`;
      })));
  } else if (device.kind === "drawer") {
    controls.push(action(out, "Open drawer", async () => {
      const r = await posd.openDrawer(id, "other", { operator: "technician console" });
      return `${r.result} (audit record ${r.audit_id}): ${r.detail}`;
    }, "Opens the drawer with reason “other”; recorded in the audit log"));
    controls.push(el("span", { className: "audited", textContent: "Audited: every open, and every refusal, is recorded with this token’s name." }));
  }
  if (device.simulated) controls.push(simControls(device, out));
  return controls;
}

function simControls(device, out) {
  const id = device.id;
  const sim = (label, body, describe) => action(out, label, async () => {
    const result = await posd.sim(id, body());
    return describe ? describe(result) : `${label}: ${JSON.stringify(result)}`;
  });
  const box = el("fieldset", { className: "sim" }, el("legend", { textContent: "Simulator" }));
  if (device.kind === "scanner") {
    const data = el("input", { type: "text", value: "7891000315507" });
    const symbology = el("select", {}, ...SYMBOLOGIES.map((s) => el("option", { value: s, textContent: s })));
    box.append(field("Data", data), field("Symbology", symbology),
      sim("Scan", () => ({ action: "scan", data: data.value, symbology: symbology.value })));
  } else if (device.kind === "scale") {
    const value = el("input", { type: "number", value: "1.235", step: "0.005" });
    const stable = el("input", { type: "checkbox", checked: true });
    box.append(field("Weight (kg)", value), field("Stable", stable),
      sim("Set weight", () => ({ action: "set", value: Number(value.value), unit: "kg", stable: stable.checked })));
  } else if (device.kind === "printer") {
    const paper = el("select", {}, ...["ok", "near_end", "end"].map((p) => el("option", { value: p, textContent: p })));
    const cover = el("select", {}, ...["closed", "open"].map((c) => el("option", { value: c, textContent: c })));
    const online = el("input", { type: "checkbox", checked: true });
    box.append(field("Paper", paper), field("Cover", cover), field("Online", online),
      sim("Set faults", () => ({ action: "fault", paper: paper.value, cover: cover.value, online: online.checked })),
      action(out, "Show paper", async () => {
        const png = await posd.request("GET", `/api/v1/sim/${encodeURIComponent(id)}/output.png`);
        const img = el("img", { className: "paper", alt: `what ${id} printed` });
        img.src = URL.createObjectURL(png);
        img.addEventListener("load", () => URL.revokeObjectURL(img.src), { once: true });
        return img;
      }));
  } else if (device.kind === "drawer") {
    box.append(sim("Close drawer", () => ({ action: "set", opened: false })),
      sim("Open by hand", () => ({ action: "set", opened: true })));
  }
  box.append(sim("Unplug", () => ({ action: "unplug" })), sim("Plug", () => ({ action: "plug" })));
  return box;
}

// -- the device table -------------------------------------------------------------------------------
function buildRow(device) {
  const row = $("row-template").content.firstElementChild.cloneNode(true);
  row.dataset.device = device.id;
  const name = row.querySelector(".name");
  name.textContent = device.name;
  name.id = `device-${device.id}`;
  row.querySelector(".id").textContent = device.id;
  row.querySelector(".kind").textContent = `${device.kind} · ${device.driver}`;
  const out = row.querySelector("output.result");
  out.setAttribute("aria-label", `${device.id} result`);
  row.querySelector(".buttons").append(...deviceActions(device, out));
  // Five rows have a "Health check": a screen reader also says which device a button acts on.
  for (const button of row.querySelectorAll("button")) button.setAttribute("aria-describedby", name.id);
  return row;
}

function entries(title, values) {
  const list = Object.entries(values || {});
  if (!list.length) return [];
  return [el("dt", { textContent: title }), el("dd", {
    textContent: list.map(([k, v]) => `${k}=${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`).join("  "),
  })];
}

function updateRow(entry) {
  const { device, row } = entry;
  const state = row.querySelector(".state");
  state.textContent = device.state;
  state.className = `state ${device.state}`;
  row.querySelector(".reason").textContent = device.reason || "";
  row.querySelector("dl").replaceChildren(
    ...entries("status", device.status), ...entries("transport", device.transport), ...entries("statistics", device.stats));
}

function showDevices(list) {
  const seen = new Set();
  for (const device of list) {
    seen.add(device.id);
    let entry = rows.get(device.id);
    if (!entry) {
      entry = { device, row: buildRow(device) };
      rows.set(device.id, entry);
      $("devices").append(entry.row);
    }
    entry.device = device;
    updateRow(entry);
  }
  for (const [id, entry] of rows) {
    if (!seen.has(id)) { entry.row.remove(); rows.delete(id); }
  }
  $("sim-note").hidden = !list.some((d) => d.simulated);
}

async function loadDevices() {
  showDevices(await posd.devices());
}

/** Status and statistics change with most events; fetch the device again, at most every 200 ms. */
function scheduleRefresh(id) {
  if (refreshTimers.has(id)) return;
  refreshTimers.set(id, setTimeout(async () => {
    refreshTimers.delete(id);
    const entry = rows.get(id);
    if (!entry) return;
    try {
      entry.device = await posd.device(id);
      updateRow(entry);
    } catch (err) {
      log(`-- could not refresh ${id}: ${describeError(err)}`, "gap");
    }
  }, 200));
}

// -- the live event log -----------------------------------------------------------------------------
function log(text, className = "") {
  if ($("pause").checked) return;
  const box = $("events");
  const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  box.append(el("li", { className, textContent: text }));
  while (box.childElementCount > MAX_LOG_LINES) box.firstElementChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight; // follow the log unless the technician scrolled up to read
}

function onEvent(event) {
  const time = event.time.slice(11, 23);
  log(`${time} #${event.seq} ${event.topic} ${event.device ?? ""} ${JSON.stringify(event.data)}`);
  const entry = rows.get(event.device);
  if (entry && event.topic === "device.state") {
    entry.device = { ...entry.device, state: event.data.state, reason: event.data.reason };
    updateRow(entry);
  }
  if (event.topic === "printer.job") {
    jobStates.set(event.data.id, event.data);
    if (jobStates.size > 50) jobStates.delete(jobStates.keys().next().value);
  }
  if (event.topic === "printer.job" && testJobs.has(event.data.id)) {
    showJob(testJobs.get(event.data.id), event.data);
    if (["done", "failed", "cancelled"].includes(event.data.state)) testJobs.delete(event.data.id);
  }
  if (entry) scheduleRefresh(event.device);
}

function onStatus(status) {
  const conn = $("conn");
  if (status.state === "open") {
    conn.textContent = `connected (seq ${status.seq})`;
    // After every (re)connection: the table shows the state as of now, the events carry on from there.
    loadDevices().catch((err) => { conn.textContent = `error: ${describeError(err)}`; });
  } else if (status.state === "reconnecting") {
    conn.textContent = `disconnected (${status.code}${status.reason ? ` ${status.reason}` : ""}); retrying in ${(status.delayMs / 1000).toFixed(1)} s`;
  } else if (status.state === "connecting") {
    conn.textContent = "connecting…";
  }
}

// -- login, support bundle (GET /api/v1/diagnostics, admin) ------------------------------------------
async function connect(token) {
  posd.token = token;
  if (subscription) subscription.close();
  subscription = null;
  $("conn").textContent = "checking token…";
  try {
    await loadDevices();
  } catch (err) {
    $("conn").textContent = `error: ${describeError(err)}`;
    return;
  }
  subscription = posd.subscribe({
    onEvent,
    onStatus,
    onGap: (gap) => {
      log(`-- missed events ${gap.from}..${gap.to} (no longer held by posd); device table reloaded`, "gap");
      loadDevices().catch(() => {});
    },
    onError: (err) => { $("conn").textContent = `event stream refused: ${describeError(err)}`; },
  });
  $("bundle").disabled = false;
}

$("bundle").addEventListener("click", async () => {
  const out = $("bundle-result");
  out.textContent = "collecting…";
  try {
    const { blob, filename } = await posd.download("/api/v1/diagnostics");
    const link = el("a", { href: URL.createObjectURL(blob), download: filename || "posd-support.zip" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    out.textContent = `downloaded ${link.download} (${Math.ceil(blob.size / 1024)} KiB)`;
  } catch (err) {
    out.textContent = `failed: ${describeError(err)}`;
  }
});

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("token").value.trim();
  sessionStorage.setItem(TOKEN_KEY, token); // typed once per browser tab, gone when the tab closes
  connect(token);
});

$("forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  if (subscription) subscription.close();
  subscription = null;
  posd.token = "";
  $("token").value = "";
  $("bundle").disabled = true;
  for (const entry of rows.values()) entry.row.remove();
  rows.clear();
  $("conn").textContent = "not connected";
});

$("clear-log").addEventListener("click", () => $("events").replaceChildren());

posd.health().then((h) => { $("version").textContent = `v${h.version}`; }, () => {});
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) {
  $("token").value = saved;
  connect(saved);
}
