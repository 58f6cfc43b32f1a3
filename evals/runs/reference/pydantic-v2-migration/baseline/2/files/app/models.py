from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

Price = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class ProductIn(BaseModel):
    sku: str = Field(pattern=r"^[A-Z]{3}-\d{4}$")
    name: str = Field(min_length=1)
    price: Price = Field(gt=0)
    tags: list[str] = Field(default_factory=list, max_length=5)

    @field_validator("sku")
    @classmethod
    def normalise_sku(cls, value: str) -> str:
        return value.strip().upper()


class ProductPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1)
    price: Price | None = Field(default=None, gt=0)


class ProductOut(ProductIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
