"""Focused rules of the signal parser, one behaviour per test."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import (
    BREAKEVEN,
    AssetClass,
    CancelSignal,
    CloseSignal,
    EntryType,
    OpenSignal,
    OptionRight,
    Side,
    Signal,
    UpdateSignal,
)
from bot.errors import InvalidSignal, NotASignal
from bot.signals.parser import DEFAULT_OPTIONS, MAX_MESSAGE_CHARS, ParseOptions, parse_signal

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def parse(text: str, **options: Any) -> Signal:
    return parse_signal(text, now=NOW, options=ParseOptions(**options) if options else DEFAULT_OPTIONS)


def parse_open(text: str, **options: Any) -> OpenSignal:
    signal = parse(text, **options)
    assert isinstance(signal, OpenSignal)
    return signal


def invalid(text: str) -> str:
    with pytest.raises(InvalidSignal) as caught:
        parse(text)
    return caught.value.message


def not_a_signal(text: str) -> str:
    with pytest.raises(NotASignal) as caught:
        parse(text)
    return caught.value.message


# -- numbers ---------------------------------------------------------------------------------------------------
def test_thousands_separators_are_read_exactly() -> None:
    """`60,000` is 60000 and `1,675.50` keeps its decimals."""
    signal = parse_open("BUY 25 $AVGO @ 1,675.50 SL 1,640")
    assert signal.entry.price == Decimal("1675.50")
    assert str(signal.entry.price) == "1675.50"


def test_k_suffix_means_thousands() -> None:
    """`30K` is 30000 and `30.5k` is 30500."""
    signal = parse_open("$BTC long 30k-30.5k sl 29K")
    assert (signal.entry.low, signal.entry.high, signal.stop_loss) == (30000, 30500, 29000)


def test_decimals_keep_their_digits() -> None:
    """A forex price `1.0850` keeps its trailing zero, as the provider wrote it."""
    assert format(parse_open("EURUSD sell limit 1.0850").entry.price, "f") == "1.0850"


def test_european_decimal_comma_is_refused() -> None:
    """`1,5` is never read as 15 or 1.5: it is an invalid signal naming the number."""
    assert "'1,5'" in invalid("BUY BTC @ 1,5")


def test_mixed_separators_are_refused() -> None:
    """`3.000,50` (European thousands dot and decimal comma) is refused, not guessed."""
    assert "'3.000,50'" in invalid("LONG ETH entry 3.000,50")


def test_space_separated_thousands_are_refused() -> None:
    """`60 000` shows up as a leading-zero group and is refused instead of becoming 60."""
    assert "'000'" in invalid("LONG BTC 60 000 SL 59 000")


def test_fullwidth_digits_and_nbsp_are_folded() -> None:
    """Fullwidth digits and no-break spaces read like their ASCII forms."""
    assert parse("ＢＵＹ ＡＡＰＬ １００ ＠ １５０．２５") == parse("BUY\u00a0AAPL 100 @ 150.25")


def test_zero_width_characters_are_ignored() -> None:
    """A zero-width space inside a keyword or number does not change the reading."""
    assert parse("BU\u200bY TSLA @ 25\u200b0") == parse("BUY TSLA @ 250")


# -- symbols ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("written", ["BTC/USDT", "BTCUSDT", "#BTC", "BTC-USDT", "$BTC", "btc", "BTCUSDT.P", "BTC-PERP"])
def test_crypto_spellings_normalize_to_base_slash_quote(written: str) -> None:
    """Every common spelling of a crypto pair becomes `BTC/USDT`."""
    signal = parse_open(f"LONG {written}")
    assert (signal.symbol, signal.asset_class) == ("BTC/USDT", AssetClass.CRYPTO)


def test_channel_quote_currency_applies_to_bare_coins() -> None:
    """A channel's quote currency replaces the USDT default for a coin named without a quote."""
    assert parse_open("LONG ETH", quote_currency="USDC").symbol == "ETH/USDC"


def test_channel_default_decides_unknown_tickers() -> None:
    """In a crypto channel a bare unknown ticker is a coin; elsewhere it is a stock."""
    assert parse_open("LONG WOOF", default_asset_class=AssetClass.CRYPTO).symbol == "WOOF/USDT"
    assert parse_open("LONG WOOF").asset_class is AssetClass.EQUITY


def test_channel_default_wins_for_ambiguous_bare_symbols() -> None:
    """In a stock channel `$BTC` is the BTC ETF, not the coin."""
    signal = parse_open("BUY $BTC", default_asset_class=AssetClass.EQUITY)
    assert (signal.symbol, signal.asset_class) == ("BTC", AssetClass.EQUITY)


@pytest.mark.parametrize(
    ("written", "symbol"),
    [("EURUSD", "EUR/USD"), ("XAUUSD", "XAU/USD"), ("GOLD", "XAU/USD"), ("gbp/jpy", "GBP/JPY"), ("XAGUSD", "XAG/USD")],
)
def test_forex_and_metals_become_slash_pairs(written: str, symbol: str) -> None:
    """Six-letter ISO pairs and metals are forex symbols written `BASE/QUOTE`."""
    signal = parse_open(f"BUY {written}")
    assert (signal.symbol, signal.asset_class) == (symbol, AssetClass.FOREX)


def test_equities_are_uppercase_tickers() -> None:
    """A capitalised or `$`-prefixed ticker is an equity, written upper-case."""
    assert parse_open("buy $tsla").symbol == "TSLA"
    assert parse_open("BUY BRK.B 10 @ 410").symbol == "BRK.B"


def test_lowercase_bare_ticker_is_not_a_symbol() -> None:
    """`buy the dip` must not trade a ticker DIP: lower-case bare words are never equity tickers."""
    assert "no symbol" in invalid("buy aapl @ 150 sl 145")


def test_english_capitals_are_not_tickers() -> None:
    """All-caps English ("LONG LIVE THE KING") is shouting, not a list of tickers."""
    not_a_signal("LONG LIVE THE KING")


def test_several_symbols_are_invalid() -> None:
    """One signal trades one instrument; naming two is an error the author should see."""
    assert "several symbols" in invalid("LONG BTC AND SHORT ETH")


# -- entries ---------------------------------------------------------------------------------------------------
def test_at_price_is_a_limit_entry() -> None:
    """`@ 150.25` is a limit entry at that price."""
    entry = parse_open("BUY AAPL @ 150.25").entry
    assert (entry.type, entry.price) == (EntryType.LIMIT, Decimal("150.25"))


def test_no_price_or_market_words_mean_market() -> None:
    """`@ mkt`, `at market`, `CMP`, `NOW` or no price at all is a market entry."""
    for text in ("$TSLA long 10 @ mkt", "Sell TSLA at market", "Long $SOL entry CMP", "BUY AMZN NOW", "buy AAPL"):
        assert parse_open(text).entry.type is EntryType.MARKET, text


def test_now_with_a_price_is_market_checked_against_that_price() -> None:
    """`BUY NOW @ 1920` is a market order whose stop is still checked against 1920."""
    assert parse_open("XAUUSD BUY NOW @ 1920 SL 1910").entry.type is EntryType.MARKET
    assert "above the entry 1920" in invalid("XAUUSD BUY NOW @ 1920 SL 1930")


def test_dash_after_entry_keyword_is_a_range() -> None:
    """`Entry: 60000 - 60500` is a range, whatever dash is used and in whichever order."""
    for text in ("LONG BTC\nEntry: 60000 - 60500", "LONG BTC\nEntry: 60500 – 60000", "LONG BTC\nEntry: 60000 to 60500"):
        entry = parse_open(text).entry
        assert (entry.type, entry.low, entry.high) == (EntryType.RANGE, 60000, 60500), text


def test_dash_separated_targets_are_a_list() -> None:
    """`Targets: 61000 - 62000 - 63000` is three targets, not a range."""
    signal = parse_open("LONG BTC @ 60000\nTargets: 61000 - 62000 - 63000")
    assert signal.take_profits == (61000, 62000, 63000)


def test_buy_above_is_a_breakout_and_buy_below_a_limit() -> None:
    """Buying above the price is a breakout (stop) order; buying below it is a limit."""
    assert parse_open("BTC Buy above 61000").entry.type is EntryType.BREAKOUT
    assert parse_open("BTC Buy below 59000").entry.type is EntryType.LIMIT
    assert parse_open("TSLA sell below 238.5").entry.type is EntryType.BREAKOUT


def test_forex_buy_stop_is_a_breakout_entry() -> None:
    """`BUY STOP 0.6650` right after the side is a stop-entry order, not a stop loss."""
    signal = parse_open("AUDUSD buy stop 0.6650 sl 0.6610")
    assert (signal.entry.type, signal.entry.price, signal.stop_loss) == (
        EntryType.BREAKOUT,
        Decimal("0.6650"),
        Decimal("0.6610"),
    )


def test_number_between_action_and_symbol_is_the_quantity() -> None:
    """`Sell 5 NVDA at 880` sells five shares at 880."""
    signal = parse_open("Sell 5 NVDA at 880")
    assert (signal.quantity, signal.entry.price) == (5, 880)


def test_number_before_at_is_the_quantity() -> None:
    """`BUY AAPL 100 @ 150.25` buys 100 at 150.25."""
    signal = parse_open("BUY AAPL 100 @ 150.25")
    assert (signal.quantity, signal.entry.price) == (100, Decimal("150.25"))


def test_bare_number_after_symbol_is_the_entry() -> None:
    """`LONG GOOGL 175.3 SL 171` enters at 175.3 (a quantity needs `qty`, a unit or a place before `@`)."""
    signal = parse_open("Long GOOGL 175.3 SL 171")
    assert (signal.entry.price, signal.quantity) == (Decimal("175.3"), None)


def test_missing_quantity_is_null_never_zero() -> None:
    """No quantity means the caller sizes the order: None, not 0."""
    assert parse_open("LONG BTC @ 60000").quantity is None


def test_units_make_a_quantity() -> None:
    """`200 shares`, `3 lots`, `0.5 lot` are quantities wherever they stand."""
    assert parse_open("Buy 200 shares of $F at 12.15").quantity == 200
    assert parse_open("Buy XAUUSD 0.5 lot @ 2330").quantity == Decimal("0.5")


# -- stops, targets, leverage ----------------------------------------------------------------------------------
def test_numbered_targets_skip_their_numbers() -> None:
    """`TP1 61000`, `Target 1: 61000`, `1) 61000` and `TP 1 - 61000` keep only the prices."""
    for text in (
        "LONG BTC @ 60000 TP1 61000 TP2 62000",
        "LONG BTC @ 60000\nTarget 1: 61000\nTarget 2: 62000",
        "LONG BTC @ 60000\nTargets:\n1) 61000\n2) 62000",
        "LONG BTC @ 60000\nTP 1 - 61000\nTP 2 - 62000",
    ):
        assert parse_open(text).take_profits == (61000, 62000), text


def test_no_targets_is_an_empty_tuple() -> None:
    """A signal without targets has `take_profits == ()` (JSON `[]`)."""
    assert parse_open("LONG BTC @ 60000 SL 59000").take_profits == ()


@pytest.mark.parametrize("written", ["10x", "x10", "Cross 10x", "Isolated 10X", "Cross (10.0X)", "10х"])
def test_leverage_spellings(written: str) -> None:
    """`10x`, `x10`, `Cross 10x`, `Isolated 10X`, `(10.0X)` and Cornix's Cyrillic `10х` are leverage 10."""
    assert parse_open(f"LONG BTC @ 60000\nLeverage: {written}").leverage == 10


def test_emoji_markers_introduce_targets_and_stops() -> None:
    """🎯 reads as a target keyword and 🛑 as a stop keyword."""
    signal = parse_open("LONG $INJ @ 24.5\n🎯 25.8\n🎯 27\n🛑 23.4")
    assert (signal.take_profits, signal.stop_loss) == ((Decimal("25.8"), 27), Decimal("23.4"))


def test_stop_on_the_wrong_side_is_invalid() -> None:
    """A buy's stop above its entry is refused with both numbers in the message."""
    assert invalid("BUY AAPL 100 @ 150.25 SL 155") == "stop loss 155 is above the entry 150.25 for a buy"


def test_target_on_the_wrong_side_is_invalid() -> None:
    """A sell's target above its entry is refused."""
    assert "take profit 3200 is above the entry 3000 for a sell" in invalid("SHORT ETH @ 3000 SL 3100 TP 3200")


def test_range_entry_is_checked_on_its_edges() -> None:
    """A stop inside a sell's entry range is on the wrong side."""
    assert "the entry 150-152 for a sell" in invalid("SHORT #SOL/USDT\nEntry: 150 - 152\nSL: 151")


def test_market_order_stop_is_checked_against_targets() -> None:
    """Without an entry price a buy's stop must still sit below every target."""
    assert "below the take profit" in invalid("SELL EURUSD @ market SL 1.0800 TP 1.0900")


def test_relative_stops_are_refused() -> None:
    """`SL 2%` or `SL 30 pips` is a distance, not a price, and is refused rather than misread."""
    assert "relative" in invalid("BUY AAPL @ 150 SL 2%")
    assert "distance" in invalid("XAUUSD BUY @ 2330 SL 30 pips")


def test_zero_and_negative_numbers_are_invalid() -> None:
    """Quantities, prices and leverage must be positive."""
    assert "quantity 0 must be positive" in invalid("BUY 0 AAPL @ 150")
    assert "entry price 0 must be positive" in invalid("BUY AAPL @ 0")
    assert "negative number -100" in invalid("BUY AAPL -100 @ 150")


def test_direction_is_inferred_from_prices() -> None:
    """Without a direction word a stop below the entry means a buy, above it a sell."""
    assert parse_open("#LINK/USDT\nEntry: 14.20\nTarget: 15\nStop loss: 13.60").side is Side.BUY
    assert parse_open("#DOT/USDT\nEntry: 7.10\nSL: 7.45\nTP: 6.80").side is Side.SELL


def test_conflicting_directions_are_invalid() -> None:
    """`BUY SHORT` names both directions."""
    assert "conflicting directions" in invalid("BUY SHORT AAPL @ 150")


def test_spot_buy_and_sell_labels_mean_entry_and_targets() -> None:
    """In `Buy: ... / Sell: ...` spot signals, the Sell line lists the targets."""
    signal = parse_open("#PEPE/USDT\nBuy: 0.0000110 - 0.0000115\nSell: 0.0000130 - 0.0000140\nSL: 0.0000100")
    assert signal.side is Side.BUY and signal.take_profits == (Decimal("0.0000130"), Decimal("0.0000140"))


# -- options ---------------------------------------------------------------------------------------------------
def test_option_contract_is_read_and_the_symbol_is_the_underlying() -> None:
    """`BTO 5 SPY 450C 12/20 @ 1.25` buys five SPY calls struck at 450 for 1.25."""
    signal = parse_open("BTO 5 SPY 450C 12/20 @ 1.25")
    assert (signal.symbol, signal.asset_class, signal.quantity) == ("SPY", AssetClass.OPTION, 5)
    assert signal.option is not None
    assert (signal.option.right, signal.option.strike) == (OptionRight.CALL, 450)


def test_expiry_without_year_is_next_occurrence_on_or_after_today() -> None:
    """A month/day already past this year means next year; today's date means today."""
    assert parse_open("BTO SPY 450C 12/20 @ 1").option.expiry == date(2026, 12, 20)  # type: ignore[union-attr]
    assert parse_open("BTO SPY 450C 11/20 @ 1").option.expiry == date(2027, 11, 20)  # type: ignore[union-attr]
    assert parse_open("BTO SPY 450C 11/21 @ 1").option.expiry == date(2026, 11, 21)  # type: ignore[union-attr]


def test_expiry_with_a_year_is_taken_as_written() -> None:
    """`1/17/25` is 2025-01-17 even when that date has passed (the broker will say it expired)."""
    assert parse_open("BTO AAPL 190P 1/17/25 @ 3.4").option.expiry == date(2025, 1, 17)  # type: ignore[union-attr]


def test_stc_and_btc_close_option_positions() -> None:
    """STC closes; BTC in front of an option contract is buy-to-close, not the coin."""
    assert parse("STC SPY 450C 12/20 @ 2.10") == CloseSignal("SPY")
    assert parse("BTC SPY 450P 12/20 @ 0.50") == CloseSignal("SPY")
    assert parse_open("BTO BTC 60000C 12/27 @ 1500").symbol == "BTC"


def test_option_without_expiry_is_invalid() -> None:
    """An option signal must say when the contract expires."""
    assert "no expiry date" in invalid("BTO SPY 450C @ 1.25")


def test_plain_sell_on_an_option_is_ambiguous() -> None:
    """`Sell SPY 450C` could open or close: the author must write STO or STC."""
    assert "ambiguous" in invalid("Sell SPY 450C 12/20 @ 2")


# -- management ------------------------------------------------------------------------------------------------
def test_close_fractions() -> None:
    """`half`, `50%`, `1/2` and `quarter` become fractions; `all` and `100%` mean the whole position."""
    assert parse("Close half BTC") == CloseSignal("BTC/USDT", Decimal("0.5"))
    assert parse("STC 50% SPY 450C") == CloseSignal("SPY", Decimal("0.5"))
    assert parse("Close 1/2 ETH") == CloseSignal("ETH/USDT", Decimal("0.5"))
    assert parse("close 25% ETH") == CloseSignal("ETH/USDT", Decimal("0.25"))
    assert parse("Close all") == CloseSignal(None) == parse("Close 100% ")


def test_signed_percent_is_a_gain_not_a_fraction() -> None:
    """In `Close AAPL +15%` the percentage is a result, never a size (and makes it a results post)."""
    not_a_signal("Closed AAPL +15%")
    assert parse("Close AAPL (+15%)") == CloseSignal("AAPL")


def test_closing_a_number_of_units_is_refused() -> None:
    """`Close 100 AAPL` cannot be expressed as a fraction, so it is refused rather than closing everything."""
    assert "closing a number of units" in invalid("Close 100 AAPL")


def test_management_without_symbol_applies_to_the_replied_signal() -> None:
    """`close half` and `move SL to entry` carry `symbol=None`."""
    assert parse("close half") == CloseSignal(None, Decimal("0.5"))
    assert parse("move SL to entry") == UpdateSignal(None, BREAKEVEN)


def test_breakeven_spellings() -> None:
    """`BE`, `breakeven`, `break-even`, `b/e` and `to entry` all move the stop to breakeven."""
    for text in ("BE", "SL to breakeven AAPL", "Move SL to break-even on #BTC", "SL b/e $TSLA", "move stop to entry"):
        signal = parse(text)
        assert isinstance(signal, UpdateSignal) and signal.stop_loss == BREAKEVEN, text


def test_lowercase_be_in_a_sentence_is_not_breakeven() -> None:
    """The English word "be" is not an instruction."""
    not_a_signal("be ready")
    not_a_signal("stop being lazy and be patient")


def test_move_stop_to_price() -> None:
    """`Move SL to 61000 on BTC` updates that symbol's stop."""
    assert parse("Move SL to 61000 on BTC") == UpdateSignal("BTC/USDT", Decimal(61000))


def test_new_targets_update() -> None:
    """`New TP for ETH: 3500/3600` replaces the targets."""
    assert parse("New TP for ETH: 3500/3600") == UpdateSignal("ETH/USDT", None, (Decimal(3500), Decimal(3600)))


def test_results_word_with_an_instruction_keeps_the_instruction() -> None:
    """`TP1 hit, move SL to entry` is an update; `TP1 hit` alone is a results post."""
    assert parse("TP1 hit ✅ move SL to entry") == UpdateSignal(None, BREAKEVEN)
    not_a_signal("TP1 hit +5% 🚀")


def test_two_instructions_in_one_message_are_invalid() -> None:
    """`Close 50% and move SL to entry` cannot be half-done silently."""
    assert "several instructions" in invalid("Close 50% and move SL to entry")


def test_cancel_names_its_symbol_and_ignores_the_direction_word() -> None:
    """`Cancel ETH long` cancels the pending ETH signal."""
    assert parse("Cancel ETH long") == CancelSignal("ETH/USDT")


# -- chatter ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["should I buy AAPL?", "anyone long BTC?", "Long or short BTC here?"])
def test_questions_are_not_signals(text: str) -> None:
    """A question mark makes a message a question, never an order."""
    assert "question" in not_a_signal(text)


@pytest.mark.parametrize(
    "text",
    [
        "might buy AAPL tomorrow",
        "I'd buy if it breaks 150",
        "Don't short this market",
        "not financial advice but AAPL looks good",
        "Yesterday's signal: LONG ETH @ 3000",
    ],
)
def test_hypotheticals_negations_and_commentary_are_not_signals(text: str) -> None:
    """Hedged, conditional, negated or past-tense talk about a trade is not an instruction."""
    not_a_signal(text)


def test_not_financial_advice_boilerplate_does_not_hide_a_real_signal() -> None:
    """The usual disclaimer under a complete signal is ignored, not read as a negation."""
    assert parse_open("BUY AAPL @ 150 SL 145 TP 160 (not financial advice)").symbol == "AAPL"


@pytest.mark.parametrize("text", ["TP1 hit +5% 🚀", "BTC target 2 reached", "closed in profit", "XAUUSD +120 pips"])
def test_results_posts_are_not_signals(text: str) -> None:
    """Reports of hit targets and closed trades are chatter."""
    not_a_signal(text)


def test_links_mentions_and_emoji_are_not_signals() -> None:
    """A message that is only a link, a mention or emoji has no action."""
    for text in ("https://example.com/buy-aapl-now", "<@123456789> thanks", "🚀🚀🚀", ""):
        not_a_signal(text)


def test_a_line_of_prose_is_skipped_whole() -> None:
    """Three or more words outside the grammar make a line commentary, even if it holds a keyword."""
    not_a_signal("Exit strategy matters more than entry")
    assert parse_open("BUY AAPL @ 150\nGood luck to everyone trading today").symbol == "AAPL"


def test_aliases_extend_the_keywords() -> None:
    """A channel alias maps its own word onto a keyword, even one the default grammar treats as chatter."""
    assert parse_open("Bought AAPL @ 150", aliases={"bought": "buy"}).side is Side.BUY
    assert parse("bye TSLA", aliases={"BYE": "close"}) == CloseSignal("TSLA")
    not_a_signal("Bought AAPL @ 150")


def test_oversized_message_is_refused_cheaply() -> None:
    """A message longer than any chat allows is not a signal, whatever it contains."""
    assert "too long" in not_a_signal("BUY AAPL " * (MAX_MESSAGE_CHARS // 4))


def test_non_text_input_is_not_a_signal() -> None:
    """Even a wrongly typed argument raises only a parse error."""
    with pytest.raises(NotASignal):
        parse_signal(None, now=NOW)  # type: ignore[arg-type]


def test_recommended_leverage_range_imposes_no_leverage() -> None:
    """`Leverage: 10x-20x` leaves the choice to the follower; three different values are a contradiction."""
    assert parse_open("LONG BTC @ 60000\nLeverage: 10x-20x").leverage is None
    assert "several leverage values" in invalid("LONG BTC @ 60000 leverage 5x, 10x or 20x")


def test_lowercase_hashtags_are_tags_not_tickers() -> None:
    """`#crypto #signals #gems` under a signal do not add symbols; `#SOL` in capitals is a ticker."""
    assert parse_open("LONG $DOGE @ 0.16\n#crypto #signals #gems").symbol == "DOGE/USDT"


def test_signed_percent_targets_are_relative_not_annotations() -> None:
    """`TP: +2%` right after the keyword is a relative target (refused); after a price it is an annotation."""
    assert "take profit +2% is relative" in invalid("Long BTC\nTP: +2% / +4%")
    assert parse_open("LONG ETH @ 3300\nTP1: 3350 (+1.5%)").take_profits == (3350,)


def test_numbers_on_a_line_without_a_field_are_ignored() -> None:
    """`Risk: 1-2% of deposit` or `RR: 1:2` below a signal adds no prices."""
    signal = parse_open("LONG BTC\nEntry: 60000\nSL: 59000\nRisk: 1-2% of deposit\nRR: 1:2")
    assert (signal.entry.price, signal.stop_loss, signal.quantity) == (60000, 59000, None)


def test_first_person_position_reports_are_not_signals() -> None:
    """`I am long BTC` reports the author's position; it is not an instruction."""
    not_a_signal("I am long BTC from 58k")
