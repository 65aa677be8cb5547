from enum import StrEnum


class Dialect(StrEnum):
    MYSQL = "mysql"
    POSTGRES = "postgres"
    SQLITE = "sqlite"

    def __str__(self) -> str:
        return str(self.value)
