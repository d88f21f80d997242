// The dashboard page: the catalogue, then each tile fetched on its own and again at its own interval.
// A tile shows its age and is marked stale past twice its refresh interval; a missing one shows
// "no data yet"; one whose fetch or drawing fails shows the error in that tile only.
// `?every=SECONDS` fetches every tile that often instead (tests, wall screens).
import "uplot/dist/uPlot.min.css";
import "./dashboard.css";
import { TEMPLATES } from "./draw.js";

const params = new URLSearchParams(window.location.search);
const every = Math.max(0, Number(params.get("every")) || 0); // 0: each tile's own interval
const tiles = document.getElementById("tiles");
const status = document.getElementById("status");

function age(seconds) {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

class Tile {
  constructor(spec) {
    this.spec = spec;
    this.built = null; // the built tile's generated_at (ms) and refresh interval, while it has one
    this.charts = [];
    this.node = document.createElement("section");
    this.node.className = `tile ${spec.template}`;
    this.node.dataset.tile = spec.id;
    this.node.dataset.template = spec.template;
    this.node.dataset.state = "loading";
    this.node.dataset.stale = "false";
    const title = document.createElement("h2");
    title.textContent = spec.title;
    this.ageLine = document.createElement("p");
    this.ageLine.className = "age";
    this.body = document.createElement("div");
    this.body.className = "body";
    this.node.append(title, this.ageLine, this.body);
  }

  async refresh() {
    try {
      const answer = await fetch(`/api/tiles/${encodeURIComponent(this.spec.id)}`, { cache: "no-store" });
      if (answer.status === 404) {
        this.show("missing", "no data yet");
      } else if (!answer.ok) {
        this.show("error", `could not load this tile (${answer.status})`);
      } else {
        this.draw(await answer.json());
      }
    } catch (error) {
      this.show("error", `could not load this tile: ${error.message}`);
    }
    const seconds = Math.max(1, every || this.spec.refresh_seconds);
    window.setTimeout(() => this.refresh(), seconds * 1000);
  }

  draw(built) {
    const draw = TEMPLATES[built.data?.template];
    if (!draw) throw new Error(`no template ${built.data?.template}`);
    this.clear();
    try {
      this.charts = draw(this.body, built.data);
    } catch (error) {
      this.show("error", `could not draw this tile: ${error.message}`);
      return;
    }
    this.built = { at: Date.parse(built.generated_at), refresh: built.refresh_seconds || this.spec.refresh_seconds };
    this.node.dataset.state = "ok";
    this.tick();
  }

  show(state, text) {
    this.clear();
    this.built = null;
    this.node.dataset.state = state;
    const line = document.createElement("p");
    line.className = state === "error" ? "error" : "empty";
    line.textContent = text;
    this.body.append(line);
    this.tick();
  }

  clear() {
    this.charts.forEach((chart) => chart.destroy());
    this.charts = [];
    this.body.replaceChildren();
  }

  // The age line, every second: "built 12 s ago", and "stale" past twice the refresh interval.
  tick() {
    if (!this.built) {
      this.ageLine.textContent = "";
      this.node.dataset.stale = "false";
      return;
    }
    const seconds = (Date.now() - this.built.at) / 1000;
    const stale = seconds > 2 * this.built.refresh;
    this.node.dataset.stale = String(stale);
    this.ageLine.textContent = `built ${age(seconds)} ago${stale ? " · stale" : ""}`;
  }
}

async function start() {
  let catalogue;
  try {
    const answer = await fetch("/api/tiles", { cache: "no-store" });
    if (!answer.ok) throw new Error(`status ${answer.status}`);
    catalogue = await answer.json();
  } catch (error) {
    status.textContent = `could not load the catalogue (${error.message}); reload to try again`;
    return;
  }
  const shown = catalogue.map((spec) => new Tile(spec));
  tiles.replaceChildren(...shown.map((tile) => tile.node));
  status.textContent = `${shown.length} tiles, each refreshed on its own`;
  shown.forEach((tile) => tile.refresh());
  window.setInterval(() => shown.forEach((tile) => tile.tick()), 1000);
}

start();
