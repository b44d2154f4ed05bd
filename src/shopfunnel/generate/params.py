"""Every behaviour of the synthetic shop is a parameter here; all go to manifest.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class Params:
    # ---- size and time
    visitors: int = 40_000
    days: int = 90
    history_days: int = 90
    seed: int = 42
    start_date: date = date(2026, 1, 1)

    # ---- visitors and sessions
    new_visitor_share: float = 0.82
    returning_member_share: float = 0.45  # of returning visitors, share already members
    extra_device_prob: float = 0.30  # a member uses a 2nd device (and a 3rd at a fifth of it)
    shared_device_prob: float = 0.01  # a member's 2nd device is shared with another member
    mean_extra_sessions: float = 1.6  # sessions after the first (exponential count)
    mean_session_gap_days: float = 6.0
    mean_hits_per_session: float = 4.0
    mean_seconds_between_hits: float = 45.0
    channel_mix: dict[str, float] = field(
        default_factory=lambda: {
            "keyword_search_ad": 0.24,
            "organic_search": 0.22,
            "direct": 0.20,
            "referral": 0.08,
            "organic_social": 0.08,
            "paid_social": 0.06,
            "email": 0.07,
            "sms": 0.05,
        }
    )
    utm_columns_filled_share: float = 0.5  # else staging must parse the URL

    # ---- sign-up (targets of the case study; the three rates below are derived)
    target_signup_rate: float = 0.0123
    target_signup_share_viewed: float = 0.82
    target_nonsignup_share_not_viewed: float = 0.73
    # sign-up in the first session, or (this share of those with a 2nd session) the 2nd
    signup_in_second_session_share: float = 0.25
    offline_member_share: float = 0.05  # extra members who signed up off-line: no events

    # ---- buying (shares of members by latent type)
    member_type_mix: dict[str, float] = field(
        default_factory=lambda: {"never": 0.40, "once": 0.30, "repeat": 0.20, "loyal": 0.10}
    )
    loyal_orders_range: tuple[int, int] = (5, 12)
    repeat_orders_range: tuple[int, int] = (2, 4)
    mean_days_to_first_order: float = 9.0
    mean_days_between_orders: dict[str, float] = field(
        default_factory=lambda: {"repeat": 25.0, "loyal": 12.0}
    )
    first_purchase_coupon_share: float = 0.45
    guest_checkout_share: float = 0.03  # extra guest orders (member_id null), paid
    mean_lines_per_order: float = 1.6

    # ---- products and price behaviour
    products: int = 600
    vip_exclusive_share: float = 0.05
    new_release_days: int = 30
    # probability that a line is a new release (released within new_release_days)
    new_release_prob: dict[str, float] = field(
        default_factory=lambda: {"once": 0.20, "repeat": 0.22, "loyal": 0.60}
    )
    # probability that a line is bought at a discount
    discount_prob: dict[str, float] = field(
        default_factory=lambda: {"once": 0.40, "repeat": 0.35, "loyal": 0.10}
    )
    # preferred price quintile (0 = cheapest) per type: mean of the tier draw
    price_tier_bias: dict[str, float] = field(
        default_factory=lambda: {"once": 0.8, "repeat": 1.6, "loyal": 3.0}
    )

    # ---- consent and contact data
    sms_opt_in_rate: float = 0.55
    marketing_opt_in_rate: float = 0.70

    # ---- dirt (rates per row of the table they apply to, or per visitor for bots)
    dirt: bool = True
    duplicate_event_rate: float = 0.01
    late_event_rate: float = 0.02  # real rows loaded 1-3 whole days after their event day
    # extra copies under new ids (`late_`), loaded 4-10 days after (4-5 in the daily layout):
    # later than the staging lookback (3 days), quarantined as `too_late`
    too_late_event_rate: float = 0.005
    future_event_rate: float = 0.002
    null_anonymous_id_rate: float = 0.002
    malformed_anonymous_id_rate: float = 0.001
    malformed_member_id_rate: float = 0.001
    bot_visitor_rate: float = 0.01
    bot_hits_range: tuple[int, int] = (40, 160)
    unknown_event_name_rate: float = 0.005
    malformed_url_rate: float = 0.003
    csv_non_utc_offset_rate: float = 0.01  # CSV only: event_at written in +09:00, same instant
    cancelled_order_rate: float = 0.04
    refunded_order_rate: float = 0.03
    test_order_rate: float = 0.005
    unknown_member_order_rate: float = 0.005
    bad_price_line_rate: float = 0.005
    duplicate_member_export_rate: float = 0.02
    duplicate_order_export_rate: float = 0.02

    # ---- daily layout only (load partitions): cases planted for incremental runs
    late_login_devices: int = 5  # devices logging in 20+ days after their first visit
    refund_rate: float = 0.005  # paid orders re-exported as refunded in a later load
    changed_duplicate_share: float = 0.1  # of re-delivered events: same id, other payload

    # ---- marketing actions on the audiences, measured against a holdout (actions.py)
    actions: bool = False  # off: the data set is exactly the one without actions
    # the day the actions are taken (the marts' var audience_as_of_date); None: the last day
    # of the window minus lift_window_days, so that a whole conversion window of data follows
    actions_as_of: date | None = None
    lift_window_days: int = 30  # the marts' var lift_window_days
    holdout_seed: int = 20261124  # the marts' var holdout_seed
    holdout_share: float = 0.10  # the marts' var holdout_share
    # per action, the share of the persons it reaches (outside the holdout) whom it makes
    # convert within the window; 0 plants no effect (the SMS, by default)
    action_effects: dict[str, float] = field(
        default_factory=lambda: {"retargeting": 0.03, "coupon": 0.20, "sms": 0.0}
    )
    action_response_mean_days: float = 5.0  # mean days from the action to the response

    def validate(self) -> None:
        problems = []
        if self.visitors < 1:
            problems.append(f"--visitors must be at least 1 (got {self.visitors})")
        if self.days < 1:
            problems.append(f"--days must be at least 1 (got {self.days})")
        if self.history_days < 0:
            problems.append(f"--history-days must be 0 or more (got {self.history_days})")
        if self.products < 10:
            problems.append(f"products must be at least 10 (got {self.products})")
        for name in (
            "new_visitor_share",
            "target_signup_rate",
            "target_signup_share_viewed",
            "target_nonsignup_share_not_viewed",
        ):
            value = getattr(self, name)
            if not 0 < value < 1:
                problems.append(f"{name} must be in (0, 1) (got {value})")
        if abs(sum(self.channel_mix.values()) - 1) > 1e-9:
            problems.append("channel_mix must sum to 1")
        if abs(sum(self.member_type_mix.values()) - 1) > 1e-9:
            problems.append("member_type_mix must sum to 1")
        if self.history_days == 0 and self.new_visitor_share < 1:
            problems.append("returning visitors need --history-days > 0")
        if self.actions:
            problems += self._action_problems()
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def last_day(self) -> date:
        """The last day of the window."""
        return self.start_date + timedelta(days=self.days - 1)

    def action_date(self) -> date:
        """The day the actions are taken: --actions-as-of, else lift_window_days before the
        last day of the window (never before its first day)."""
        if self.actions_as_of is not None:
            return self.actions_as_of
        return max(self.start_date, self.last_day - timedelta(days=self.lift_window_days))

    def action_effect(self, action: str) -> float:
        """The planted effect of an action (0 when not given: no effect)."""
        return float(self.action_effects.get(action, 0.0))

    def _action_problems(self) -> list[str]:
        problems = []
        known = ("retargeting", "coupon", "sms")
        for name, effect in self.action_effects.items():
            if name not in known:
                problems.append(
                    f"--action-effect {name}: unknown action (one of {', '.join(known)})"
                )
            elif not 0 <= effect <= 1:
                problems.append(f"--action-effect {name}={effect}: must be in [0, 1]")
        if not 0 < self.holdout_share < 1:
            problems.append(f"--holdout-share must be in (0, 1) (got {self.holdout_share})")
        if self.lift_window_days < 1:
            problems.append(f"--lift-window-days must be at least 1 (got {self.lift_window_days})")
        if self.action_response_mean_days <= 0:
            problems.append("action_response_mean_days must be positive")
        day = self.action_date()
        if not self.start_date <= day < self.last_day:
            latest = self.last_day - timedelta(days=1)
            problems.append(
                f"--actions-as-of {day.isoformat()} must lie in the window, before its last day "
                f"({self.start_date.isoformat()} .. {latest.isoformat()})"
            )
        return problems

    def derived_signup_rates(self) -> dict[str, float]:
        """Solve the case study's three figures for the benefit-view and sign-up rates.

        s = overall sign-up rate, a = share of sign-ups who viewed the benefit page,
        c = share of non-sign-ups who did not view it. With b = P(view),
        r1 = P(sign-up | view), r0 = P(sign-up | no view):
            b * r1 = a * s,   b * (1 - r1) = (1 - c) * (1 - s)
        so b = a*s + (1-c)*(1-s), r1 = a*s / b, r0 = (1-a)*s / (1-b).
        """
        s = self.target_signup_rate
        a = self.target_signup_share_viewed
        c = self.target_nonsignup_share_not_viewed
        b = a * s + (1 - c) * (1 - s)
        return {
            "benefit_view_rate": b,
            "signup_rate_viewed": a * s / b,
            "signup_rate_not_viewed": (1 - a) * s / (1 - b),
        }

    def to_json(self) -> dict:
        data = asdict(self)
        data["start_date"] = self.start_date.isoformat()
        if self.actions_as_of is not None:
            data["actions_as_of"] = self.actions_as_of.isoformat()
        return data
