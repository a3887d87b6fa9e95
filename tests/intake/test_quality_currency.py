import pandas as pd

from acctlib.intake.quality import INVALID_CURRENCY_CHECK, check_opportunities


def opportunities(currencies: list[object]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": [f"O{number}" for number in range(len(currencies))],
            "account_id": "A1",
            "stage_category": "open",
            "amount": 100.0,
            "currency": currencies,
            "created_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "close_date": pd.Timestamp("2024-02-01"),
        }
    )


def test_invalid_currency_code_is_finding():
    frame = opportunities(["USD", "EURO", " eur ", None, "", "EURO", "E"])

    findings = check_opportunities(frame, {}).set_index("check")

    assert findings.loc[INVALID_CURRENCY_CHECK, "rows"] == 3
    assert findings.loc[INVALID_CURRENCY_CHECK, "amount"] == 300.0
    message = findings.loc[INVALID_CURRENCY_CHECK, "message"]
    assert message.startswith(
        "3 deals with a currency code that is not a three-letter ISO 4217 "
        "code: 'E', 'EURO' (first deal O1)."
    )
    assert message.endswith("Correct the code in the CRM, such as EUR for euro.")


def test_valid_currency_codes_no_finding():
    frame = opportunities(["USD", "eur", None])

    findings = check_opportunities(frame, {})

    assert INVALID_CURRENCY_CHECK not in set(findings["check"])


def test_no_currency_column_no_finding():
    frame = opportunities(["USD"]).drop(columns="currency")

    findings = check_opportunities(frame, {})

    assert INVALID_CURRENCY_CHECK not in set(findings["check"])
