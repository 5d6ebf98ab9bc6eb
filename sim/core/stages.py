"""States, acquisition sources and random-draw purposes, defined once (MODEL.md sections 2-3).

Every other module (kernels, tables, figures) takes its codes, names and colours from here.
"""

from __future__ import annotations

from enum import IntEnum


class State(IntEnum):
    """Where a customer is on the circle of life (MODEL.md section 3)."""

    UNAWARE = 0
    ZMOT = 1  # researching: the zero moment of truth
    SMOT = 2  # using the product: the second moment of truth
    LOYAL = 3  # a customer between purchases
    REJECTED = 4  # decided not to buy; can be won back
    CHURNED = 5  # absorbing

    @property
    def column(self) -> str:
        """The name of this state's count column in `timeseries` tables."""
        return self.name.lower()


class Source(IntEnum):
    """What put a customer into ZMOT (or, for seeds, into SMOT)."""

    NONE = -1
    PAID = 0
    TALK = 1
    SHARE = 2
    SEED = 3

    @property
    def column(self) -> str:
        return self.name.lower()


ACQUISITION_SOURCES: tuple[Source, ...] = (Source.PAID, Source.TALK, Source.SHARE, Source.SEED)

# The weekly history's new-adopter columns, one per acquisition source.
ADOPTED_COLUMNS: tuple[str, ...] = tuple(f"adopted_{s.column}" for s in ACQUISITION_SOURCES)


class Purpose(IntEnum):
    """What a counter-based draw decides (MODEL.md section 2). Never renumber: changing a code
    changes every result for a given seed."""

    ENTRY = 1  # UNAWARE/REJECTED -> ZMOT by paid media or talk
    SPLIT = 2  # paid or talk, in proportion of the hazards
    DELIVERY = 3  # does a share reach an out-neighbour (keyed: sender, step sent, receiver)
    RECRUIT = 4  # does an arrived message recruit its receiver
    RECRUITER_CHOICE = 5  # which successful sender is the recruiter
    FMOT_TIMING = 6  # does a ZMOT customer decide this step
    READ_INBOX = 7  # which inbox message is read (indexed)
    READ_POOL = 8  # which pool post is read (indexed)
    BUY = 9
    PERFORMANCE_A = 10  # Box-Muller, first uniform
    PERFORMANCE_B = 11  # Box-Muller, second uniform
    SHARE = 12
    REPURCHASE = 13
    RETENTION = 14
    SEEDING = 15  # random seeding order
    TALK_RECRUITER = 16  # which talking in-neighbour gets the credit for a talk recruit
    PASS_ON = 17  # does a customer reached by paid media pass its content on
    MARKET = 18  # is a customer in the market (once per run, before week 0)
    TALK_REACH = 19  # was a talk recruit won by local or by market-wide talk


# Colours used by every figure, so a state or a source looks the same everywhere
# (colour-blind-safe Okabe-Ito palette).
STATE_COLOURS: dict[State, str] = {
    State.UNAWARE: "#BBBBBB",
    State.ZMOT: "#E69F00",
    State.SMOT: "#56B4E9",
    State.LOYAL: "#009E73",
    State.REJECTED: "#D55E00",
    State.CHURNED: "#555555",
}

SOURCE_COLOURS: dict[Source, str] = {
    Source.PAID: "#0072B2",
    Source.TALK: "#CC79A7",
    Source.SHARE: "#009E73",
    Source.SEED: "#F0E442",
}

STATE_LABELS: dict[State, str] = {
    State.UNAWARE: "Unaware",
    State.ZMOT: "ZMOT (researching)",
    State.SMOT: "SMOT (using)",
    State.LOYAL: "Loyal",
    State.REJECTED: "Rejected",
    State.CHURNED: "Churned",
}
