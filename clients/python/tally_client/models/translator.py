from enum import StrEnum


class Translator(StrEnum):
    LLM = "llm"
    NONE = "none"
    RULES = "rules"

    def __str__(self) -> str:
        return str(self.value)
