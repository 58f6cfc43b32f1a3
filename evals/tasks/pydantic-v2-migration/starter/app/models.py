import re
from decimal import Decimal

from pydantic import BaseModel, Field, validator


class ProductIn(BaseModel):
    sku: str
    name: str = Field(min_length=1)
    price: Decimal = Field(gt=0)
    tags: list[str] = Field(default_factory=list, max_items=5)

    class Config:
        json_encoders = {Decimal: float}

    @validator("sku", pre=True)
    def normalise_sku(cls, value):
        return value.strip().upper() if isinstance(value, str) else value

    @validator("sku")
    def check_sku(cls, value):
        if not re.fullmatch(r"[A-Z]{3}-\d{4}", value):
            raise ValueError("sku must look like ABC-1234")
        return value


class ProductPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1)
    price: Decimal | None = Field(default=None, gt=0)



class ProductOut(ProductIn):
    id: int

    class Config:
        from_attributes = True
        json_encoders = {Decimal: float}
