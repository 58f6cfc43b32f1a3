from app.core.error_handlers import install_error_handlers
from app.core.logging_config import configure_logging
from app.core.middleware import install_middleware
from app.core.settings import get_settings
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

settings = get_settings()
# Before the app exists, so uvicorn's own loggers go through the same JSON pipeline.
configure_logging(level=settings.log_level, json_logs=True)
app = FastAPI(title="orders-service")
# Errors (500s included) answer problem+json carrying the request ID; the middleware stack adds request IDs,
# one access-log record per request, security headers and a body limit, in the right order.
install_error_handlers(app)
install_middleware(app, settings)


class Order(BaseModel):
    id: int
    item: str
    quantity: int


ORDERS: dict[int, Order] = {1: Order(id=1, item="coffee beans", quantity=2), 2: Order(id=2, item="filters", quantity=1)}
INVOICES: dict[int, str] = {1: "INV-0001"}


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> Order:
    order = ORDERS.get(order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="order not found")
    return order


@app.get("/orders/{order_id}/invoice")
async def get_invoice(order_id: int) -> dict[str, str]:
    # Known bug (ticket OPS-212): orders without an invoice raise KeyError instead of answering 404.
    return {"order_id": str(order_id), "invoice": INVOICES[order_id]}
