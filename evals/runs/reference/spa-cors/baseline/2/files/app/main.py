from typing import Annotated

from fastapi import Cookie, FastAPI, HTTPException
from pydantic import BaseModel
from starlette.middleware.cors import CORSMiddleware

from app.settings import get_settings

app = FastAPI(title="shop-api")
# Exact origins only: with credentials, a wildcard or a loose pattern would hand the session to any site.
# Added last, so it is the outermost middleware and its headers reach every response, errors included.
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["GET", "POST"],
    allow_headers=["content-type"],
)

SESSIONS = {"s-alice-1": "alice"}
CARTS: dict[str, list[str]] = {"alice": ["espresso cups"]}


class CartItem(BaseModel):
    sku: str


def _user(session: str | None) -> str:
    user = SESSIONS.get(session or "")
    if user is None:
        raise HTTPException(status_code=401, detail="not signed in")
    return user


@app.get("/cart")
async def get_cart(session: Annotated[str | None, Cookie()] = None) -> dict[str, list[str]]:
    return {"items": CARTS.get(_user(session), [])}


@app.post("/cart", status_code=201)
async def add_to_cart(item: CartItem, session: Annotated[str | None, Cookie()] = None) -> dict[str, list[str]]:
    items = CARTS.setdefault(_user(session), [])
    items.append(item.sku)
    return {"items": items}
