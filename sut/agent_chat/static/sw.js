// Service worker of the Agent Chat web client: it keeps the app shell in a cache, so the client
// starts while offline. API calls and the WebSocket always go to the network, because messages
// must never come from a stale cache.
"use strict";

const CACHE = "agent-chat-shell-v1";
const SHELL = [
  "/",
  "/static/app.js",
  "/static/app.css",
  "/manifest.webmanifest",
  "/static/icon-192.png",
  "/static/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const stale = (names) => names.filter((name) => name !== CACHE).map((name) => caches.delete(name));
  event.waitUntil(caches.keys().then((names) => Promise.all(stale(names))).then(() => self.clients.claim()));
});

// Network first, so a deployed change shows on the next visit; the cache answers only when the
// network fails. Navigations of any URL under the scope fall back to the cached page "/".
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && request.mode !== "navigate") await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(request.mode === "navigate" ? "/" : request, { ignoreSearch: true });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname === "/client-config") return;
  event.respondWith(networkFirst(event.request));
});
