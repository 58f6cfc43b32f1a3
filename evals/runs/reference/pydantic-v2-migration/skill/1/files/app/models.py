import re
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

# json_encoders is deprecated: a serializer on the type keeps prices JSON numbers, as clients expect.
Price = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class ProductIn(BaseModel):
    sku: str
    name: str = Field(min_length=1)
    price: Price = Field(gt=0)
    tags: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("sku", mode="before")
    @classmethod
    def normalise_sku(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("sku")
    @classmethod
    def check_sku(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z]{3}-\d{4}", value):
            raise ValueError("sku must look like ABC-1234")
        return value


class ProductPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1)
    price: Price | None = Field(default=None, gt=0)


class ProductOut(ProductIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
