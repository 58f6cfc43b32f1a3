from datetime import date

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

router = APIRouter(tags=["bookings"])

PAYMENT_GATEWAY_KEY = "pk_live_4f9a1c2b7d"


class BookingIn(BaseModel):
    guest: str = Field(min_length=1, max_length=100)
    room: int = Field(ge=1, le=500)
    night: date
    notes: str = Field(default="", max_length=2000)


class Booking(BookingIn):
    id: int


BOOKINGS: dict[int, Booking] = {}


@router.post("/bookings", status_code=201)
async def create_booking(booking: BookingIn) -> Booking:
    stored = Booking(id=len(BOOKINGS) + 1, **booking.model_dump())
    BOOKINGS[stored.id] = stored
    return stored


@router.get("/bookings/{booking_id}")
async def get_booking(booking_id: int) -> Booking:
    if booking_id not in BOOKINGS:
        raise HTTPException(status_code=404, detail="booking not found")
    return BOOKINGS[booking_id]


@router.get("/bookings/{booking_id}/receipt")
async def get_receipt(booking_id: int) -> dict[str, str]:
    # The payment gateway integration is unfinished: it fails with the key in the message.
    raise RuntimeError(f"payment gateway rejected key {PAYMENT_GATEWAY_KEY}")
