"""A deliberately wrong API for the contract suite's tests: it breaks its own OpenAPI document.

Run it with `python -m uvicorn tests.fake_api:app`. GET /api/items declares a 200 with a list of
items but always fails with 500, and /empty-openapi.json is a valid document with no operation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

FAKE_TOKEN = "v1.1.4102444800.fake-signature-for-tests"

app = FastAPI(title="Fake API", version="0")
bearer = HTTPBearer()


class Login(BaseModel):
    username: str
    password: str


class Item(BaseModel):
    id: int


@app.get("/version")
def version() -> dict[str, str]:
    return {"build": "fake-1", "version": "0"}


@app.post("/api/login")
def login(credentials: Login) -> dict[str, str]:
    return {"token": FAKE_TOKEN}


@app.get("/api/items", response_model=list[Item])
def items(token: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> list[Item]:
    raise HTTPException(500, "items are broken on purpose")


@app.get("/empty-openapi.json", include_in_schema=False)
def empty_openapi() -> dict[str, object]:
    return {"openapi": "3.1.0", "info": {"title": "empty", "version": "0"}, "paths": {}}
