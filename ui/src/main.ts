// The dashboard of `kubectl shark ui`: top bar, KFL bar, and the entries, map and status views,
// all driven by the state in the URL.

import "./style.css";

import { mountBanner } from "./banner";
import { mountDetail, showEntry } from "./detail";
import { mountEntries, reloadEntries, setLive } from "./entries";
import { el } from "./format";
import { mountHistogram } from "./histogram";
import { mountKflBar } from "./kflbar";
import { drawnGraph, edgePoint, mountMap, refreshMap, resizeMap } from "./map";
import { store } from "./state";
import { mountStatus, refreshStatus } from "./status";
import { mountTopBar, refreshNodes } from "./topbar";

const app = document.getElementById("app") as HTMLElement;
const top = el("div", "top");
mountTopBar(top);
mountKflBar(top);
mountBanner(top);
const entriesPane = el("div", "pane pane-entries");
const listColumn = el("div", "list-column");
mountHistogram(listColumn);
mountEntries(listColumn);
entriesPane.append(listColumn);
mountDetail(entriesPane);
const mapPane = el("div", "pane pane-map");
mountMap(mapPane);
const statusPane = el("div", "pane pane-status");
mountStatus(statusPane);
app.append(top, el("main", "main", entriesPane, mapPane, statusPane));

let mapTimer = 0;

function showView() {
  const s = store.state;
  entriesPane.hidden = s.view !== "entries";
  mapPane.hidden = s.view !== "map";
  statusPane.hidden = s.view !== "status";
  document.title = `kubectl shark · ${s.view === "map" ? "service map" : s.view}`;
  clearInterval(mapTimer);
  if (s.view === "map") {
    resizeMap();
    refreshMap();
    if (s.live) mapTimer = window.setInterval(() => refreshMap(true), 3000);
  }
  if (s.view === "status") refreshStatus();
}

store.subscribe((s, changed) => {
  const query = changed.has("kfl") || changed.has("from") || changed.has("to");
  if (changed.has("view") || ((query || changed.has("by") || changed.has("live")) && s.view !== "entries")) showView();
  if (query) reloadEntries();
  else if (changed.has("live")) {
    if (s.live && s.to) reloadEntries();
    else setLive(s.live);
  }
  if (changed.has("entry")) showEntry();
  if (changed.has("zone")) {
    reloadEntries();
    showEntry();
    refreshNodes();
  }
});

showView();
reloadEntries();
showEntry();

// For the browser tests: the map as drawn, and where an edge is.
(window as unknown as { sharkDebug: unknown }).sharkDebug = { map: drawnGraph, edgePoint };
