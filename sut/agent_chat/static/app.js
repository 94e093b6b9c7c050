// Single-page client of the Agent Chat API: REST for login, rooms, history and posting,
// and the WebSocket for live messages. Served from the same origin, so the CSP allows it.
"use strict";

const state = { token: null, user: null, rooms: [], roomId: null, socket: null, shown: new Set() };

const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const init = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : `request failed with status ${response.status}`;
    throw new Error(detail);
  }
  return data;
}

function showError(id, error) {
  const element = $(id);
  element.textContent = error ? error.message : "";
  element.hidden = !error;
}

async function login(event) {
  event.preventDefault();
  try {
    const credentials = { username: $("login-username").value, password: $("login-password").value };
    const data = await api("POST", "/api/login", credentials);
    state.token = data.token;
    state.user = data.user;
    showError("login-error", null);
    $("login-view").hidden = true;
    $("chat-view").hidden = false;
    $("current-user").textContent = data.user.display_name;
    connectSocket();
    await loadRooms();
  } catch (error) {
    showError("login-error", error);
  }
}

async function loadRooms() {
  const data = await api("GET", "/api/rooms");
  state.rooms = data.rooms;
  renderRooms();
  const first = state.rooms.find((room) => room.member);
  if (state.roomId === null && first) await selectRoom(first.id);
}

function renderRooms() {
  const list = $("room-list");
  list.replaceChildren();
  for (const room of state.rooms) {
    const item = document.createElement("li");
    item.textContent = room.name;
    item.dataset.testid = "room-item";
    item.dataset.roomId = String(room.id);
    item.classList.toggle("selected", room.id === state.roomId);
    item.classList.toggle("not-member", !room.member);
    item.addEventListener("click", async () => {
      try {
        await selectRoom(room.id);
      } catch (error) {
        showError("chat-error", error);
      }
    });
    list.append(item);
  }
}

async function selectRoom(roomId) {
  let room = state.rooms.find((candidate) => candidate.id === roomId);
  if (!room.member) {
    room = await api("POST", `/api/rooms/${roomId}/join`);
    state.rooms = state.rooms.map((candidate) => (candidate.id === roomId ? room : candidate));
  }
  state.roomId = roomId;
  state.shown.clear();
  $("message-list").replaceChildren();
  $("room-title").textContent = room.name;
  $("send-input").disabled = false;
  document.querySelector("[data-testid=send-button]").disabled = false;
  renderRooms();
  const page = await api("GET", `/api/rooms/${roomId}/messages?limit=50`);
  page.messages.forEach(showMessage);
}

function showMessage(message) {
  if (message.room_id !== state.roomId || state.shown.has(message.id)) return;
  state.shown.add(message.id);
  const item = document.createElement("li");
  item.dataset.testid = "message-item";
  item.dataset.messageId = String(message.id);
  const author = document.createElement("strong");
  author.dataset.testid = "message-author";
  author.textContent = `${message.author.display_name}: `;
  const body = document.createElement("span");
  body.dataset.testid = "message-body";
  body.textContent = message.body;
  item.append(author, body);
  $("message-list").append(item);
  item.scrollIntoView({ block: "end" });
}

function newClientMessageId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

async function sendMessage(event) {
  event.preventDefault();
  const input = $("send-input");
  const body = input.value.trim();
  if (!body || state.roomId === null) return;
  try {
    const payload = { body, client_msg_id: newClientMessageId() };
    const message = await api("POST", `/api/rooms/${state.roomId}/messages`, payload);
    input.value = "";
    showError("chat-error", null);
    showMessage(message);
  } catch (error) {
    showError("chat-error", error);
  }
}

function connectSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "ready") $("connection-status").textContent = "online";
    if (data.type === "message") showMessage(data.message);
  });
  socket.addEventListener("close", () => {
    $("connection-status").textContent = "offline";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("send-form").addEventListener("submit", sendMessage);
});
