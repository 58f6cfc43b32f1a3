import structlog
from app.logging_config import configure_logging
from app.middleware import AccessLogMiddleware, RequestIDMiddleware
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

configure_logging()
logger = structlog.get_logger(__name__)
app = FastAPI(title="orders-service")
# The last middleware added is the outermost: request IDs wrap the access log, so its record carries the ID.
app.add_middleware(AccessLogMiddleware)
app.add_middleware(RequestIDMiddleware)


@app.exception_handler(Exception)
async def unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # Runs outside the middleware stack: take the ID from the request state the middleware filled in.
    request_id = getattr(request.state, "request_id", "")
    logger.exception("unhandled_error", request_id=request_id)
    return JSONResponse({"detail": "internal error"}, status_code=500, headers={"X-Request-ID": request_id})


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
