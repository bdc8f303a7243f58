"""The pack's parameters and metrics; each definition is a template filled with the active parameters."""
from __future__ import annotations

from typing import Any, Mapping

from csconnect import Metric, Option

PARAMETERS = (
    Option("past_due_grace_days", int, None,
           "days a past_due subscription keeps MRR, counted from its oldest unpaid invoice "
           "(unset: past-due alone never ends MRR)"),
    Option("same_period_new_churn", str, "exclude",
           "accounts that became customers and churned inside one month: exclude them from both sides of "
           "the customer churn rate, or include them in both", choices=("exclude", "include")),
    Option("nrr_window", int, 12, "months between the cohort month and the measured month for `nrr`/`grr`"),
    Option("quick_ratio_include_reactivation", bool, True, "count reactivation MRR in the quick ratio's numerator"),
    Option("clv_churn_months", int, 6, "how many previous months' customer churn rates CLV averages"),
    Option("trial_conversion_days", int, 30,
           "a trial converts when its account begins a paid period within this many days after trial end"),
    Option("renewal_min_term_months", int, 12,
           "shortest billing term (in months) that renewal rate and the renewal pipeline look at"),
    Option("renewal_pipeline_days", int, 90, "how far ahead the renewal_pipeline table looks"),
    Option("renewal_rate_basis", str, "subscriptions",
           "which renewal rate fills the `all` row and the dimension breakdowns (both are always stored under "
           "segment_by `source`)", choices=("subscriptions", "deals")),
    Option("proration_snap", bool, True,
           "when a proration scaled to a full interval is within rounding distance of the same subscription's "
           "price (same plan, quantity and interval), use that price exactly"),
)

DEFAULTS = {o.name: o.default for o in PARAMETERS}

_MRR = ("Account MRR at instant t = Σ over its lines with period_start <= t < period_end, invoice not void "
        "(drafts and pending items count), kind subscription or proration, subscription not ended, paused or in "
        "trial at t{grace}: amount after discounts before tax, normalized to a month (year /12·count, month "
        "/count, week ×52/12/count, day ×365/12/count; a proration first scaled to its full billing interval: "
        "× interval length / own period length{snap}), converted to the reporting currency at the configured "
        "rate. Sources with no invoice lines use subscription state (mrr column, else amount × quantity "
        "normalized). Negative account totals count as 0.")

TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    # name: (title, unit, direction, definition template)
    "mrr": ("MRR", "currency", "up",
            "Σ account MRR at 23:59:59 UTC of the month's last day (the current month: at the as-of instant). "
            + _MRR),
    "arr": ("ARR", "currency", "up", "12 × MRR at end of month."),
    "customers": ("Customers", "count", "up", "Accounts with MRR > 0 at end of month."),
    "arpa": ("ARPA", "currency", "up", "MRR / customers at end of month (numerator MRR, denominator customers)."),
    "mrr_new": ("New MRR", "currency", "up",
                "Σ end-of-month MRR of accounts with MRR 0 at the previous month end and at every earlier month "
                "end, and MRR > 0 now (checked before expansion)."),
    "mrr_expansion": ("Expansion MRR", "currency", "up",
                      "Σ (MRR now − MRR at previous month end) over accounts with MRR now > previous > 0."),
    "mrr_contraction": ("Contraction MRR", "currency", "down",
                        "Σ (MRR at previous month end − MRR now) over accounts with previous > MRR now > 0."),
    "mrr_churn": ("Churned MRR", "currency", "down",
                  "Σ MRR at previous month end over accounts with previous > 0 and MRR now = 0."),
    "mrr_reactivation": ("Reactivation MRR", "currency", "up",
                         "Σ end-of-month MRR of accounts with MRR 0 at the previous month end, MRR > 0 at some "
                         "earlier month end, and MRR > 0 now (checked before expansion)."),
    "net_new_mrr": ("Net new MRR", "currency", "up",
                    "new + reactivation + expansion − contraction − churn = MRR end − MRR at previous month end."),
    "customers_new": ("New customers", "count", "up", "Accounts with a `new` movement in the month."),
    "customers_churned": ("Churned customers", "count", "down", "Accounts with a `churn` movement in the month."),
    "customers_reactivated": ("Reactivated customers", "count", "up",
                              "Accounts with a `reactivation` movement in the month."),
    "customer_churn_rate": ("Customer churn rate", "percent", "down",
                            "Accounts churned in the month / customers at start of month (the previous month "
                            "end). {same_period}"),
    "customer_retention_rate": ("Customer retention rate", "percent", "up",
                                "1 − customer churn rate: (customers at start − churned) / customers at start, "
                                "same population as customer_churn_rate."),
    "gross_mrr_churn_rate": ("Gross MRR churn rate", "percent", "down",
                             "(churn + contraction) / MRR at start of month."),
    "net_mrr_churn_rate": ("Net MRR churn rate", "percent", "down",
                           "(churn + contraction − expansion − reactivation) / MRR at start of month; negative "
                           "when expansion outweighs losses."),
    "nrr": ("Net revenue retention ({nrr_window}-month)", "percent", "up",
            "Σ MRR at end of month m over the accounts that were customers at end of m−{nrr_window} / Σ their MRR "
            "at end of m−{nrr_window}. New accounts are excluded; a churned-and-returned account counts with its "
            "current MRR."),
    "grr": ("Gross revenue retention ({nrr_window}-month)", "percent", "up",
            "Σ min(MRR at end of m, MRR at end of m−{nrr_window}) / Σ MRR at end of m−{nrr_window}, over the "
            "accounts that were customers at end of m−{nrr_window}."),
    "nrr_monthly": ("Net revenue retention (monthly)", "percent", "up",
                    "Σ MRR at end of m over the customers at end of m−1 / Σ their MRR at end of m−1."),
    "grr_monthly": ("Gross revenue retention (monthly)", "percent", "up",
                    "Σ min(MRR at end of m, MRR at end of m−1) / Σ MRR at end of m−1, over the customers at end "
                    "of m−1."),
    "quick_ratio": ("SaaS quick ratio", "ratio", "up",
                    "({quick_num}) / (churn + contraction); NULL when churn + contraction = 0."),
    "clv": ("Customer lifetime value", "currency", "up",
            "ARPA / the unweighted mean of the customer churn rates of the {clv_churn_months} months before m "
            "(numerator ARPA, denominator that mean); NULL when any of those months' rates is undefined or the "
            "mean is 0."),
    "expected_lifetime_months": ("Expected customer lifetime (months)", "count", "up",
                                 "1 / the unweighted mean of the customer churn rates of the {clv_churn_months} "
                                 "months before m; NULL when any is undefined or the mean is 0."),
    "trial_conversion_rate": ("Trial conversion rate", "percent", "up",
                              "By trial-start month: trials started in the month whose account began a paid "
                              "period (an MRR-carrying line starting between trial start and {trial_conversion_days} "
                              "days after trial end) / trials started in the month. Young cohorts are immature "
                              "and still change."),
    "renewal_rate": ("Renewal rate", "percent", "up",
                     "{basis} Both variants are stored under segment_by `source`: `subscriptions` = "
                     "subscriptions whose billing term of {renewal_min_term_months}+ months ended in the month "
                     "and that did not end there / subscriptions whose such term ended in the month (a term cut "
                     "short by an immediate cancellation is not a term end); `deals` = won renewal deals / closed "
                     "renewal deals, by close month."),
    "repeat_purchase_ratio": ("Repeat purchase ratio", "percent", "up",
                              "Accounts with ≥ 2 paid invoices with amount_paid > 0 (any kind) by the end of the "
                              "month / accounts with ≥ 1."),
}

def definition(name: str, params: Mapping[str, Any]) -> str:
    """The definition text of `name` with the active parameter values filled in."""
    p = {**DEFAULTS, **params}
    grace = p["past_due_grace_days"]
    fill = dict(
        p,
        grace=(", and a past_due subscription keeps MRR for "
               f"{grace} days after its oldest unpaid invoice" if grace is not None
               else "; past_due keeps MRR until cancellation"),
        snap=("; snapped to the subscription's price when within rounding distance of it"
              if p["proration_snap"] else ""),
        same_period=("Accounts that became customers and churned inside the same month are in neither side "
                     "(same_period_new_churn = exclude)." if p["same_period_new_churn"] == "exclude" else
                     "Accounts that became customers and churned inside the same month are counted in both "
                     "numerator and denominator (same_period_new_churn = include)."),
        quick_num=("new + expansion + reactivation" if p["quick_ratio_include_reactivation"]
                   else "new + expansion"),
        basis=(f"The `all` row and the breakdowns use the {p['renewal_rate_basis']} variant "
               f"(renewal_rate_basis = {p['renewal_rate_basis']})."),
    )
    return TEMPLATES[name][3].format(**fill)


def title(name: str, params: Mapping[str, Any]) -> str:
    return TEMPLATES[name][0].format(**{**DEFAULTS, **params})


# Metric objects carry the definition with default parameters (what `csconnect metrics list` shows
# before a run); the pack rewrites metric_definitions with the active values when it runs.
METRICS = tuple(Metric(name, title(name, {}), t[1], t[2], definition(name, {})) for name, t in TEMPLATES.items())
