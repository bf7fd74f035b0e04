"""A realistic wealth-management book as `wealth-events` envelopes, deterministic for a seed (CONTRACT §3).

Pure: no I/O, no clock (the caller gives `today`), one `random.Random(seed)` drawn in a fixed order.

The book covers `today − months` .. `today − 1`, on business days (Mon–Fri):
- an instrument universe with ISIN-style ids (letters and digits, valid check digit) in five asset classes:
  listed equities (most paying quarterly dividends), bonds (coupons twice a year, maturities 2026–2040),
  real estate funds (quarterly distributions), alternatives (no income), and one USD cash line per custodian
  bank (interest paid monthly). Prices follow random walks with drift around a common market factor
  (equities, real estate, alternatives) or a mean-reverting rates factor (bonds): about ±1 % a day, never more
  than ±`DAILY_CAP`;
- `clients` clients (people, couples, trusts, holding companies) onboarded over the first `ONBOARDING_SPAN`
  of the period (half of them in its first week), each with a risk profile, 1–3 of four custodian banks and
  3–12 positions (one of them cash), valued every business day from onboarding to the last business day: each
  `portfolio.valued` is the complete portfolio at the end of that day, after its flows and trades;
- cash flows into and out of the cash line: contributions (> 0, mostly invested some days later) and
  withdrawals (< 0, selling pro rata when cash is short) a few times a year for about half of the clients;
  dividends, distributions, coupons and cash interest as `income` (> 0); a management fee as `fee` (< 0) on
  the first business day of each quarter, for the days since the last one;
- three wrinkles: one client's valuation restated (the first one carried a wrong price; the correction is the
  second-to-last envelope), one contribution reported weeks late (the last envelope), one client who
  withdraws almost everything mid-way and holds a little cash from then on.

Envelopes are in business order: by date, then onboardings < cash flows < valuations (client by client),
with `occurred_at` on the business date, strictly increasing; the two late envelopes come last, stamped on
the last business day after everything else. Nothing is dated after `today − 1`.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from cli.demo.loans import add_months, on_weekday
from cli.demo.stamping import stamp

SOURCE = "demo-custody"
EVENT_ID_PREFIX = "demo-wealth-"
BASE_CURRENCY = "USD"

ZERO = Decimal(0)
CENT = Decimal("0.01")
TICK = Decimal("0.0001")
THOUSAND = Decimal(1_000)

EQUITY, FIXED_INCOME, CASH, REAL_ESTATE, ALTERNATIVES = (
    "Equity",
    "Fixed Income",
    "Cash",
    "Real Estate",
    "Alternatives",
)
ASSET_CLASSES = (EQUITY, FIXED_INCOME, CASH, REAL_ESTATE, ALTERNATIVES)
CLASS_RANK = {name: rank for rank, name in enumerate(ASSET_CLASSES)}
INVESTED_CLASSES = (EQUITY, FIXED_INCOME, REAL_ESTATE, ALTERNATIVES)

CUSTODIANS = ("J.P. Morgan", "UBS", "Pictet", "BNY Mellon")
CUSTODIAN_CODES = ("JPM", "UBS", "PIC", "BNY")  # cash lines: CASHUSDJPM, …
CUSTODIAN_WEIGHTS = (0.35, 0.25, 0.15, 0.25)
CUSTODIANS_PER_CLIENT = ((1, 2, 3), (0.35, 0.45, 0.20))

# The instrument universe: how many of each, the ISIN country prefixes they are drawn from.
UNIVERSE = {EQUITY: 40, FIXED_INCOME: 24, REAL_ESTATE: 8, ALTERNATIVES: 10}
COUNTRIES = {
    EQUITY: ("US", "US", "US", "US", "US", "US", "GB", "DE", "FR", "CH", "NL", "JP"),
    FIXED_INCOME: ("US", "US", "XS", "XS"),
    REAL_ESTATE: ("US", "LU"),
    ALTERNATIVES: ("IE", "LU", "KY"),
}
COUPONS = tuple(Decimal(c) / 100 for c in ("2.25", "2.75", "3.125", "3.5", "3.875", "4.25", "4.625", "5", "5.5", "6"))
FIRST_MATURITY_YEAR, LAST_MATURITY_YEAR = 2026, 2040
CASH_RATE = Decimal("0.035")  # interest on cash, per year

# Price walks (daily log returns): a common market factor, a mean-reverting change of yields for bonds;
# every instrument's daily move is capped so that a portfolio never moves more than that in a day.
MARKET_DRIFT, MARKET_VOL, MARKET_CAP = 0.0003, 0.009, 0.035
RATE_VOL, RATE_REVERSION = 0.0005, 0.02
DAILY_CAP = 0.04

# Risk profiles: target weights by asset class.
PROFILES: dict[str, dict[str, float]] = {
    "conservative": {EQUITY: 0.25, FIXED_INCOME: 0.50, CASH: 0.08, REAL_ESTATE: 0.10, ALTERNATIVES: 0.07},
    "balanced": {EQUITY: 0.45, FIXED_INCOME: 0.30, CASH: 0.05, REAL_ESTATE: 0.10, ALTERNATIVES: 0.10},
    "growth": {EQUITY: 0.65, FIXED_INCOME: 0.12, CASH: 0.03, REAL_ESTATE: 0.08, ALTERNATIVES: 0.12},
}
PROFILE_NAMES = tuple(PROFILES)
PROFILE_WEIGHTS = (0.30, 0.45, 0.25)
MIN_POSITIONS, MAX_POSITIONS = 3, 12

# Clients: the initial amount (log-normal, clamped, rounded to 1,000), onboarding half in the first days.
WEALTH_MEDIAN, WEALTH_SIGMA, MIN_WEALTH, MAX_WEALTH = 1_200_000, 0.9, 150_000, 30_000_000
INITIAL_SHARE = 0.5
INITIAL_DAYS = 5
ONBOARDING_SPAN = 0.3
ENTITY_SHARE = 0.12

# External flows: about half of the clients contribute or withdraw a few times a year.
ACTIVE_SHARE = 0.5
FLOWS_PER_YEAR = (2.0, 5.0)
CONTRIBUTION_SHARE = 0.6
CONTRIBUTION_FRACTION = (0.03, 0.25)
WITHDRAWAL_FRACTION = (0.02, 0.12)
INVEST_PROBABILITY = 0.75
INVEST_AFTER_DAYS = (3, 8)  # business days
MIN_POSITION_VALUE = Decimal(1_000)  # a position sold down below this is sold in full
FEE_TIERS = ((Decimal(5_000_000), Decimal("0.006")), (Decimal(1_000_000), Decimal("0.0085")), (ZERO, Decimal("0.01")))

# The wrinkles: how many business days before the last one the restated valuation and the late flow are
# dated, where in the period the near-total withdrawal happens, what it leaves behind.
RESTATED_DAYS_BACK = 15
LATE_DAYS_BACK = 20
PRICE_ERROR = (0.005, 0.02)
LIQUIDATION_AT = (0.55, 0.70)
LIQUIDATION_KEEPS = (0.015, 0.04)

BUSINESS_DAYS_PER_YEAR = 252
# Time of day of a business date's events: 18:00Z (after the close), then one second apart.
DAY_START = dt.time(18, 0, tzinfo=dt.UTC)
DAY_SECONDS = 5 * 3600

RANK = {"client.onboarded": 0, "cash_flow.recorded": 1, "portfolio.valued": 2}

FIRST_NAMES = (
    "Olivia", "James", "Sophia", "William", "Amelia", "Henry", "Charlotte", "Alexander", "Isabella", "Thomas",
    "Margaret", "Richard", "Eleanor", "Edward", "Victoria", "Nathaniel", "Catherine", "Frederick", "Helena",
    "Lucas", "Ingrid", "Matteo", "Aiko", "Rahul", "Priya", "Kwame", "Adaeze", "Mateo", "Camila", "Hiroshi",
    "Leila", "Omar", "Sofia", "Lars", "Astrid", "Dmitri", "Elena", "Jean-Luc", "Chiara", "Benjamin",
)  # fmt: skip
LAST_NAMES = (
    "Whitfield", "Harrington", "Lindqvist", "Okafor", "Tanaka", "Castellanos", "Bergström", "Montgomery",
    "Rossi", "Chandra", "Abernathy", "Van der Berg", "Nakamura", "Fitzgerald", "Delacroix", "Kowalski",
    "Mensah", "Haddad", "Sørensen", "Whitaker", "Carrington", "Alvarez", "Ashford", "Petrov", "Dubois",
    "Kensington", "Moreau", "Schneider", "Lombardi", "Iyer", "Hargreaves", "Osei", "Calloway", "Vance",
    "Eriksen", "Blackwood", "Sinclair", "Takahashi", "Ferreira", "Wolff",
)  # fmt: skip
ENTITY_FORMS = ("{last} Family Trust", "{last} Holdings LLC", "{last} Foundation", "{last} Family Office")


@dataclass(slots=True)
class Instrument:
    instrument_id: str
    asset_class: str
    step: Decimal
    """The traded lot: one share, 1,000 of face value, a thousandth of a fund unit."""
    per: Decimal
    """The price is for this many units: 100 for bonds (a percentage of face value), else 1."""
    income_per_unit: Decimal
    """Yearly dividend per share, coupon per unit of face value, distribution per fund unit; 0 if none."""
    payments_per_year: int
    maturity_date: dt.date | None = None
    pay_days: frozenset[int] = frozenset()
    """Indexes of the business days on which it pays its income."""
    prices: list[Decimal] = field(default_factory=list)
    """Per business day of the period, 4 decimals."""
    price_texts: list[str] = field(default_factory=list)

    def unit_value(self, t: int) -> Decimal:
        price = self.prices[t]
        return price if self.per == 1 else price / self.per


@dataclass(slots=True)
class Holding:
    instrument: Instrument
    custodian: str
    weight: float
    """Target weight in the portfolio (contributions are invested along these)."""
    since: int
    quantity: Decimal = ZERO
    quantity_text: str = "0"
    income_text: str | None = None

    def set_quantity(self, quantity: Decimal) -> None:
        self.quantity = quantity
        self.quantity_text = format(quantity, "f")
        income = self.instrument.income_per_unit
        self.income_text = str(_cents(quantity * income)) if income else None

    def value(self, t: int) -> Decimal:
        return _cents(self.quantity * self.instrument.unit_value(t))


@dataclass(slots=True)
class Planned:
    day: int
    kind: str  # contribution, withdrawal, late (a contribution reported late), liquidation
    fraction: float


@dataclass(slots=True)
class Client:
    client_id: str
    name: str
    onboarded: int
    profile: str
    initial: Decimal
    custodians: tuple[str, ...]
    cash_id: str
    fee_rate: Decimal
    holdings: list[Holding] = field(default_factory=list)
    cash: Decimal = ZERO
    value: Decimal = ZERO
    """Total value at the last close."""
    last_fee: dt.date = dt.date.min
    last_interest: dt.date = dt.date.min
    plans: dict[int, list[Planned]] = field(default_factory=dict)
    invest_days: set[int] = field(default_factory=set)
    liquidated: bool = False
    flows: int = 0

    @property
    def cash_weight(self) -> float:
        return PROFILES[self.profile][CASH]

    def next_flow_id(self) -> str:
        self.flows += 1
        return f"{self.client_id}-F{self.flows:04d}"


@dataclass(frozen=True, slots=True)
class WealthBook:
    events: list[dict[str, Any]]
    """Envelopes in publishing order; the restated valuation and the late flow are the last ones."""
    first_day: dt.date
    last_day: dt.date
    """The last business day (on or before `today − 1`)."""
    client_ids: tuple[str, ...]
    restated_client: str | None
    restated_on: dt.date | None
    late_flow_id: str | None
    late_flow_client: str | None
    liquidating_client: str | None
    liquidated_on: dt.date | None


def generate_wealth_book(
    seed: int = 7, *, today: dt.date, months: int = 15, clients: int = 200
) -> list[dict[str, Any]]:
    """The envelopes of the demo wealth book (see the module's docstring)."""
    return build_wealth_book(seed, today=today, months=months, clients=clients).events


def build_wealth_book(seed: int = 7, *, today: dt.date, months: int = 15, clients: int = 200) -> WealthBook:
    """The demo wealth book with what a demo or a test wants to know about it."""
    if months < 1 or clients < 1:
        raise ValueError("months and clients must be >= 1")
    return _Simulation(seed, today, months, clients).run()


# --- dates, amounts, identifiers -------------------------------------------------------------------------


def business_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Mondays to Fridays from `first` to `last`."""
    every_day = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [day for day in every_day if day.weekday() < 5]


def isin(country: str, body: str) -> str:
    """An ISIN: country, 9 characters, and the check digit (Luhn over the letters read as 10–35)."""
    digits = "".join(str(int(c, 36)) for c in country + body)
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char) * (2 if position % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return f"{country}{body}{(10 - total % 10) % 10}"


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _price(value: float) -> Decimal:
    return Decimal(f"{value:.4f}")


def _lots(quantity: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`quantity` in whole lots of `step`, rounded up or down."""
    return (quantity / step).to_integral_value(rounding=rounding) * step


def _round_to(amount: Decimal, unit: int) -> Decimal:
    return (amount / unit).to_integral_value(rounding=ROUND_HALF_UP) * unit


def _clamp(value: float, cap: float) -> float:
    return max(-cap, min(cap, value))


# --- the simulation ----------------------------------------------------------------------------------


class _Simulation:
    def __init__(self, seed: int, today: dt.date, months: int, clients: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 (demo data, reproducible by design)
        end = today - dt.timedelta(days=1)
        self.start = on_weekday(add_months(today, -months))
        self.days = business_days(self.start, end)
        if not self.days:
            raise ValueError(f"no business day between {add_months(today, -months)} and {end}")
        self.end = self.days[-1]
        self.client_target = clients
        n = len(self.days)
        # The first business day of each month (but the first of the period): interest; of each quarter: fees.
        self.month_starts = frozenset(t for t in range(1, n) if self.days[t].month != self.days[t - 1].month)
        self.quarter_starts = frozenset(t for t in self.month_starts if self.days[t].month in (1, 4, 7, 10))
        self.index = {day: t for t, day in enumerate(self.days)}
        self.n = n
        self.rows: list[tuple[int, int, int, str, dict[str, Any]]] = []
        self.late: list[tuple[str, dict[str, Any]]] = []
        self.restated: tuple[Client, int, float] | None = None
        self.restatement: dict[str, Any] | None = None
        self.late_flow: tuple[Client, int] | None = None
        self.late_flow_id: str | None = None
        self.liquidation: tuple[Client, int] | None = None

    def add(self, t: int, event_type: str, data: dict[str, Any]) -> None:
        self.rows.append((t, RANK[event_type], len(self.rows), event_type, data))

    # Instruments --------------------------------------------------------------------------------------

    def _instruments(self) -> dict[str, list[Instrument]]:
        rng = self.rng
        used: set[str] = set()
        universe: dict[str, list[Instrument]] = {}
        first_year = max(FIRST_MATURITY_YEAR, self.end.year + 1)
        last_year = max(LAST_MATURITY_YEAR, first_year + 10)
        for asset_class, count in UNIVERSE.items():
            instruments = []
            for _ in range(count):
                while True:
                    body = "".join(rng.choice("0123456789") for _ in range(9))
                    instrument_id = isin(rng.choice(COUNTRIES[asset_class]), body)
                    if instrument_id not in used:
                        used.add(instrument_id)
                        break
                instruments.append(self._instrument(instrument_id, asset_class, first_year, last_year))
            universe[asset_class] = instruments
        self._walks(universe)
        return universe

    def _instrument(self, instrument_id: str, asset_class: str, first_year: int, last_year: int) -> Instrument:
        rng = self.rng
        if asset_class == FIXED_INCOME:
            maturity = dt.date(rng.randint(first_year, last_year), rng.randint(1, 12), rng.choice((1, 15)))
            coupon = rng.choice(COUPONS)
            months = sorted({maturity.month, (maturity.month + 5) % 12 + 1})
            instrument = Instrument(instrument_id, asset_class, Decimal(1000), Decimal(100), coupon, 2, maturity)
            instrument.pay_days = self._pay_days(months, maturity.day)
            return instrument
        if asset_class == ALTERNATIVES:
            return Instrument(instrument_id, asset_class, Decimal("0.001"), Decimal(1), ZERO, 0)
        step = Decimal(1) if asset_class == EQUITY else Decimal("0.001")
        instrument = Instrument(instrument_id, asset_class, step, Decimal(1), ZERO, 4)
        first_month = rng.randint(1, 3)
        instrument.pay_days = self._pay_days([first_month + 3 * k for k in range(4)], rng.randint(1, 28))
        return instrument

    def _pay_days(self, months: list[int], day: int) -> frozenset[int]:
        """The business days (on or after the date, within the period) of yearly payments in `months`."""
        paid = set()
        for year in range(self.start.year, self.end.year + 1):
            for month in months:
                on = on_weekday(dt.date(year, month, min(day, 28)))
                if on in self.index:
                    paid.add(self.index[on])
        return frozenset(paid)

    def _walks(self, universe: dict[str, list[Instrument]]) -> None:
        """Daily prices: a random walk with drift around the market (or rates) factor for each instrument."""
        rng = self.rng
        n = self.n
        market = [_clamp(rng.gauss(MARKET_DRIFT, MARKET_VOL), MARKET_CAP) for _ in range(n)]
        rate_moves = []
        level = 0.0
        for _ in range(n):
            move = rng.gauss(0, RATE_VOL) - RATE_REVERSION * level
            level += move
            rate_moves.append(move)
        for asset_class, instruments in universe.items():
            for instrument in instruments:
                if asset_class == EQUITY:
                    price = math.exp(rng.uniform(math.log(15), math.log(600)))
                    beta, vol, alpha = rng.uniform(0.7, 1.3), rng.uniform(0.006, 0.012), rng.gauss(0.0001, 0.0003)
                    dividend_yield = 0.0 if rng.random() < 0.2 else rng.uniform(0.008, 0.045)
                    instrument.income_per_unit = _price(price * dividend_yield)
                    if not instrument.income_per_unit:
                        instrument.pay_days = frozenset()
                elif asset_class == REAL_ESTATE:
                    price = rng.uniform(10, 120)
                    beta, vol, alpha = rng.uniform(0.4, 0.7), rng.uniform(0.003, 0.006), rng.gauss(0.0001, 0.0001)
                    instrument.income_per_unit = _price(price * rng.uniform(0.03, 0.055))
                elif asset_class == ALTERNATIVES:
                    price = rng.uniform(80, 1500)
                    beta, vol, alpha = rng.uniform(0.1, 0.4), rng.uniform(0.002, 0.005), rng.gauss(0.0002, 0.0001)
                else:
                    price = rng.uniform(90, 106)
                    beta, vol, alpha = 0.0, rng.uniform(0.0003, 0.0008), 0.0
                prices = []
                for t in range(n):
                    if t:
                        if asset_class == FIXED_INCOME:
                            assert instrument.maturity_date is not None
                            years = max((instrument.maturity_date - self.days[t]).days / 365.25, 0.1)
                            duration = min(years, 15) * 0.85
                            pull = math.log(100 / price) / max(years * BUSINESS_DAYS_PER_YEAR, 1)
                            move = -duration * rate_moves[t] + pull + rng.gauss(0, vol)
                        else:
                            move = beta * market[t] + alpha + rng.gauss(0, vol)
                        price *= math.exp(_clamp(move, DAILY_CAP))
                    prices.append(_price(price))
                # A price rounded to 4 places moves by at most the cap and a tick; never 0.
                instrument.prices = [max(p, TICK) for p in prices]
                instrument.price_texts = [str(p) for p in instrument.prices]

    # Clients ------------------------------------------------------------------------------------------

    def _names(self, count: int) -> list[str]:
        rng = self.rng
        used: set[str] = set()
        names = []
        for number in range(1, count + 1):
            for _ in range(100):
                last = rng.choice(LAST_NAMES)
                roll = rng.random()
                if roll < ENTITY_SHARE:
                    name = rng.choice(ENTITY_FORMS).format(last=last)
                elif roll < ENTITY_SHARE + 0.1:
                    first, second = rng.sample(FIRST_NAMES, 2)
                    name = f"{first} and {second} {last}"
                else:
                    name = f"{rng.choice(FIRST_NAMES)} {last}"
                if name not in used:
                    break
            else:  # only in books of thousands of clients: a namesake, told apart by a number
                name = f"{name} ({number})"
            used.add(name)
            names.append(name)
        return names

    def _clients(self, universe: dict[str, list[Instrument]]) -> list[Client]:
        rng = self.rng
        n = self.n
        span = max(1, round(n * ONBOARDING_SPAN))
        dates = sorted(
            rng.randrange(min(INITIAL_DAYS, n)) if rng.random() < INITIAL_SHARE else rng.randrange(span)
            for _ in range(self.client_target)
        )
        dates[0] = 0  # the book starts with its first client
        names = self._names(self.client_target)
        width = max(4, len(str(self.client_target)))
        clients = []
        for number, (onboarded, name) in enumerate(zip(dates, names, strict=True), 1):
            profile = rng.choices(PROFILE_NAMES, PROFILE_WEIGHTS)[0]
            drawn = rng.lognormvariate(math.log(WEALTH_MEDIAN), WEALTH_SIGMA)
            initial = Decimal(int(round(min(max(drawn, MIN_WEALTH), MAX_WEALTH), -3)))
            how_many = rng.choices(*CUSTODIANS_PER_CLIENT)[0]
            custodians: list[str] = []
            while len(custodians) < how_many:
                custodian = rng.choices(CUSTODIANS, CUSTODIAN_WEIGHTS)[0]
                if custodian not in custodians:
                    custodians.append(custodian)
            cash_id = f"CASHUSD{CUSTODIAN_CODES[CUSTODIANS.index(custodians[0])]}"
            fee_rate = next(rate for floor, rate in FEE_TIERS if initial >= floor)
            client = Client(
                f"WM-{number:0{width}d}", name, onboarded, profile, initial, tuple(custodians), cash_id, fee_rate
            )
            client.holdings = self._holdings(client, universe)
            clients.append(client)
        return clients

    def _holdings(self, client: Client, universe: dict[str, list[Instrument]]) -> list[Holding]:
        """3–12 positions, one of them cash: at least one equity, a bond from the second on, the rest drawn
        by the profile's weights; each at one of the client's custodians, weighted to the profile."""
        rng = self.rng
        weights = PROFILES[client.profile]
        slots = rng.randint(MIN_POSITIONS, MAX_POSITIONS) - 1
        classes = [EQUITY, FIXED_INCOME][:slots]
        classes += rng.choices(INVESTED_CLASSES, [weights[c] for c in INVESTED_CLASSES], k=slots - len(classes))
        counts = {c: min(classes.count(c), len(universe[c])) for c in INVESTED_CLASSES}
        counts[EQUITY] += slots - sum(counts.values())  # a class whose pool ran out: equities instead
        held = {c: weights[c] for c in INVESTED_CLASSES if counts[c]}
        scale = (1 - client.cash_weight) / sum(held.values())
        holdings = []
        for asset_class in INVESTED_CLASSES:
            for instrument in rng.sample(universe[asset_class], counts[asset_class]):
                weight = held[asset_class] * scale / counts[asset_class]
                holdings.append(Holding(instrument, rng.choice(client.custodians), weight, client.onboarded))
        holdings.sort(key=lambda h: (CLASS_RANK[h.instrument.asset_class], h.instrument.instrument_id))
        return holdings

    def _plans(self, clients: list[Client]) -> None:
        """Contributions and withdrawals a few times a year for about half of the clients, and the
        wrinkles: a contribution reported late, a client who withdraws almost everything."""
        rng = self.rng
        n = self.n
        for client in clients:
            if rng.random() >= ACTIVE_SHARE:
                continue
            rate = rng.uniform(*FLOWS_PER_YEAR) / BUSINESS_DAYS_PER_YEAR
            t = client.onboarded + 5 + int(rng.expovariate(rate))
            while t < n:
                if rng.random() < CONTRIBUTION_SHARE:
                    planned = Planned(t, "contribution", rng.uniform(*CONTRIBUTION_FRACTION))
                else:
                    planned = Planned(t, "withdrawal", rng.uniform(*WITHDRAWAL_FRACTION))
                client.plans.setdefault(t, []).append(planned)
                t += 5 + int(rng.expovariate(rate))

        taken: set[str] = set()
        liquidated_on = int(n * rng.uniform(*LIQUIDATION_AT))
        candidates = [c for c in clients if c.onboarded < liquidated_on - 10]
        if candidates:
            client = rng.choice(candidates)
            taken.add(client.client_id)
            client.plans[liquidated_on] = [Planned(liquidated_on, "liquidation", 0.0)]  # alone that day
            self.liquidation = (client, liquidated_on)
        late_on = n - 1 - LATE_DAYS_BACK
        candidates = [c for c in clients if c.onboarded < late_on and c.client_id not in taken]
        if candidates:
            client = rng.choice(candidates)
            taken.add(client.client_id)
            client.plans[late_on] = [Planned(late_on, "late", rng.uniform(0.05, 0.1))]
            self.late_flow = (client, late_on)
        restated_on = n - 1 - RESTATED_DAYS_BACK
        candidates = [c for c in clients if c.onboarded < restated_on and c.client_id not in taken]
        if candidates:
            error = rng.choice((-1, 1)) * rng.uniform(*PRICE_ERROR)
            self.restated = (rng.choice(candidates), restated_on, error)

    # Money moving -------------------------------------------------------------------------------------

    def _flow(self, client: Client, t: int, kind: str, amount: Decimal, *, late: bool = False) -> str:
        client.cash += amount
        flow_id = client.next_flow_id()
        data = {
            "flow_id": flow_id,
            "client_id": client.client_id,
            "flow_date": self.days[t].isoformat(),
            "amount": str(amount),
            "kind": kind,
        }
        if late:
            self.late.append(("cash_flow.recorded", data))
        else:
            self.add(t, "cash_flow.recorded", data)
        return flow_id

    def _buy(self, client: Client, t: int, amount: Decimal) -> None:
        """Invest `amount` of cash along the target weights of the positions held."""
        weights = sum(h.weight for h in client.holdings)
        for holding in client.holdings:
            unit = holding.instrument.unit_value(t)
            share = amount * Decimal(holding.weight / weights)
            bought = _lots(share / unit, holding.instrument.step, ROUND_DOWN)
            if bought > 0:
                client.cash -= _cents(bought * unit)
                holding.set_quantity(holding.quantity + bought)

    def _sell(self, client: Client, t: int, needed: Decimal, *, everything: bool = False) -> None:
        """Raise at least `needed` in cash by selling every position pro rata (all of it if `everything`)."""
        invested = sum((h.value(t) for h in client.holdings), start=ZERO)
        if invested <= 0:
            return
        share = Decimal(1) if everything else min(Decimal(1), needed / invested * Decimal("1.02"))
        kept = []
        for holding in client.holdings:
            unit = holding.instrument.unit_value(t)
            sold = holding.quantity
            if share < Decimal("0.95"):
                sold = min(sold, _lots(sold * share, holding.instrument.step, ROUND_UP))
                if (holding.quantity - sold) * unit < MIN_POSITION_VALUE:
                    sold = holding.quantity
            client.cash += _cents(sold * unit)
            if sold < holding.quantity:
                holding.set_quantity(holding.quantity - sold)
                kept.append(holding)
        client.holdings = kept

    def _cash_floor(self, client: Client) -> Decimal:
        return max(Decimal(100), _cents(client.value * Decimal("0.005")))

    def _pay_out(self, client: Client, t: int, amount: Decimal) -> None:
        """Make sure the cash line stays above its floor once `amount` is paid out of it."""
        short = amount + self._cash_floor(client) - client.cash
        if short > 0:
            self._sell(client, t, short + self._cash_floor(client))

    def _day(self, client: Client, t: int) -> None:
        """The flows and trades of a day before its valuation (the client was onboarded before `t`)."""
        rng = self.rng
        day = self.days[t]
        # Income: the cash line's interest monthly, then the coupons, dividends and distributions due.
        if t in self.month_starts:
            days = (day - client.last_interest).days
            interest = _cents(client.cash * CASH_RATE * days / 365)
            client.last_interest = day
            if interest > 0:
                self._flow(client, t, "income", interest)
        for holding in client.holdings:
            instrument = holding.instrument
            if t in instrument.pay_days and holding.since < t:
                income = _cents(holding.quantity * instrument.income_per_unit / instrument.payments_per_year)
                if income > 0:
                    self._flow(client, t, "income", income)
        # The management fee, for the days since the last one, on the last close.
        if t in self.quarter_starts:
            days = (day - client.last_fee).days
            fee = _cents(client.value * client.fee_rate * days / 365)
            client.last_fee = day
            if fee > 0:
                self._pay_out(client, t, fee)
                self._flow(client, t, "fee", -fee)
        # Contributions and withdrawals.
        for planned in client.plans.get(t, ()):
            if client.liquidated:
                break
            if planned.kind in ("contribution", "late"):
                amount = max(Decimal(1_000), _round_to(client.value * Decimal(planned.fraction), 1_000))
                flow_id = self._flow(client, t, "contribution", amount, late=planned.kind == "late")
                if planned.kind == "late":
                    self.late_flow_id = flow_id
                if planned.kind == "late" or rng.random() < INVEST_PROBABILITY:
                    client.invest_days.add(t + rng.randint(*INVEST_AFTER_DAYS))
            elif planned.kind == "withdrawal":
                amount = max(Decimal(1_000), _round_to(client.value * Decimal(planned.fraction), 1_000))
                self._pay_out(client, t, amount)
                amount = min(amount, _lots(client.cash - self._cash_floor(client), THOUSAND, ROUND_DOWN))
                if amount > 0:
                    self._flow(client, t, "withdrawal", -amount)
            else:  # liquidation: sell everything, keep a little cash
                self._sell(client, t, ZERO, everything=True)
                keep = _round_to(client.value * Decimal(rng.uniform(*LIQUIDATION_KEEPS)), 100)
                amount = _lots(client.cash - keep, THOUSAND, ROUND_DOWN)
                self._flow(client, t, "withdrawal", -amount)
                client.liquidated = True
                client.invest_days.clear()
        # Cash above its target is invested some days after a contribution.
        if t in client.invest_days and client.holdings:
            target = _cents(client.value * Decimal(client.cash_weight))
            excess = client.cash - target
            if excess > MIN_POSITION_VALUE:
                self._buy(client, t, excess)

    def _onboard(self, client: Client, t: int) -> None:
        self.add(
            t,
            "client.onboarded",
            {"client_id": client.client_id, "name": client.name, "base_currency": BASE_CURRENCY},
        )
        client.cash = client.initial
        client.value = client.initial
        client.last_fee = client.last_interest = self.days[t]
        self._buy(client, t, client.initial * Decimal(1 - client.cash_weight))

    # Valuations ---------------------------------------------------------------------------------------

    def _positions(self, client: Client, t: int) -> tuple[list[dict[str, Any]], Decimal]:
        positions: list[dict[str, Any]] = []
        total = ZERO
        cash_at = sum(CLASS_RANK[h.instrument.asset_class] < CLASS_RANK[CASH] for h in client.holdings)
        for index, holding in enumerate(client.holdings):
            if index == cash_at:
                total += self._cash_position(client, positions)
            instrument = holding.instrument
            value = _cents(holding.quantity * instrument.unit_value(t))
            total += value
            position: dict[str, Any] = {
                "instrument_id": instrument.instrument_id,
                "asset_class": instrument.asset_class,
                "custodian": holding.custodian,
                "market_value": str(value),
            }
            if holding.income_text is not None:
                position["est_annual_income"] = holding.income_text
            if instrument.maturity_date is not None:
                position["maturity_date"] = instrument.maturity_date.isoformat()
            position["quantity"] = holding.quantity_text
            position["price"] = instrument.price_texts[t]
            positions.append(position)
        if cash_at == len(client.holdings):
            total += self._cash_position(client, positions)
        return positions, total

    def _cash_position(self, client: Client, positions: list[dict[str, Any]]) -> Decimal:
        if client.cash <= 0:
            return ZERO
        positions.append(
            {
                "instrument_id": client.cash_id,
                "asset_class": CASH,
                "custodian": client.custodians[0],
                "market_value": str(client.cash),
                "est_annual_income": str(_cents(client.cash * CASH_RATE)),
            }
        )
        return client.cash

    def _value(self, client: Client, t: int) -> None:
        positions, total = self._positions(client, t)
        client.value = total
        data = {"client_id": client.client_id, "as_of": self.days[t].isoformat(), "positions": positions}
        restated = self.restated
        if restated is not None and restated[0] is client and restated[1] == t:
            # The custodian's first valuation carried a wrong price for the largest holding; the
            # correct one (`data`) follows at the end.
            self.restatement = data
            self.add(t, "portfolio.valued", {**data, "positions": self._mispriced(client, t, positions, restated[2])})
            return
        self.add(t, "portfolio.valued", data)

    @staticmethod
    def _mispriced(client: Client, t: int, positions: list[dict[str, Any]], error: float) -> list[dict[str, Any]]:
        holding = max(client.holdings, key=lambda h: h.value(t))
        instrument = holding.instrument
        price = _price(float(instrument.prices[t]) * (1 + error))
        value = _cents(holding.quantity * (price if instrument.per == 1 else price / instrument.per))
        wrong = []
        for position in positions:
            if position["instrument_id"] == instrument.instrument_id and position["custodian"] == holding.custodian:
                position = {**position, "market_value": str(value), "price": str(price)}
            wrong.append(position)
        return wrong

    # The whole book -----------------------------------------------------------------------------------

    def run(self) -> WealthBook:
        universe = self._instruments()
        clients = self._clients(universe)
        self._plans(clients)
        waiting = list(clients)  # sorted by onboarding day
        active: list[Client] = []
        for t in range(self.n):
            while waiting and waiting[0].onboarded == t:
                client = waiting.pop(0)
                self._onboard(client, t)
                active.append(client)
            for client in active:
                if client.onboarded < t:
                    self._day(client, t)
                self._value(client, t)

        self.rows.sort(key=lambda row: (row[0], row[1], row[2]))
        late = []
        if self.restatement is not None:
            late.append(("portfolio.valued", self.restatement))
        late += self.late
        restated, late_flow, liquidation = self.restated, self.late_flow, self.liquidation
        return WealthBook(
            events=self._envelopes(late),
            first_day=self.start,
            last_day=self.end,
            client_ids=tuple(c.client_id for c in clients),
            restated_client=restated[0].client_id if restated else None,
            restated_on=self.days[restated[1]] if restated else None,
            late_flow_id=self.late_flow_id,
            late_flow_client=late_flow[0].client_id if late_flow else None,
            liquidating_client=liquidation[0].client_id if liquidation else None,
            liquidated_on=self.days[liquidation[1]] if liquidation else None,
        )

    def _envelopes(self, late: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Stamp the rows in order, `occurred_at` on their business date; the late ones arrive on the
        last business day, after everything else."""
        last = self.n - 1
        ordered = [(row[0], row[3], row[4]) for row in self.rows] + [(last, kind, data) for kind, data in late]
        return stamp(
            [(self.days[t], event_type, data) for t, event_type, data in ordered],
            source=SOURCE, id_prefix=EVENT_ID_PREFIX, day_start=DAY_START, day_seconds=DAY_SECONDS,
        )  # fmt: skip
