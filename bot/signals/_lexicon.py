"""The words of the signal grammar: what each keyword means, which words mark chatter, known symbols.

Everything here is data, built once at import. Lookups are by lower-case word.
"""

from __future__ import annotations

import re
from enum import Enum


class Role(Enum):
    """What a word does in a signal."""

    BUY = "buy"
    SELL = "sell"
    BTO = "bto"
    STO = "sto"
    CLOSE = "close"
    CANCEL = "cancel"
    UPDATE = "update"
    NEW = "new"  # an update only right before a stop/target keyword ("new TP")
    BE = "breakeven"
    TO = "to"
    ENTRY = "entry"
    AT = "at"
    LIMIT = "limit"
    MARKET = "market"
    ABOVE = "above"
    BELOW = "below"
    SL = "sl"
    TP = "tp"
    LEV = "leverage"
    QTY = "qty"
    UNIT = "unit"  # "100 shares": a quantity unit after a number
    RELATIVE = "relative"  # "20 pips": a distance, not a price
    HALF = "half"
    QUARTER = "quarter"
    ALL = "all"
    EQUITY_HINT = "equity_hint"
    CRYPTO_HINT = "crypto_hint"
    FOREX_HINT = "forex_hint"
    OPTION_WORD = "option_word"
    CRYPTO_CUE = "crypto_cue"
    COMMENTARY = "commentary"
    RESULT = "result"
    FILLER = "filler"

    # Members are singletons compared by identity; hashing by identity (in C) instead of Enum's hash of the name
    # (in Python) keeps the role-keyed lookups of the reader cheap.
    __hash__ = object.__hash__


def _roles(role: Role, words: str) -> dict[str, Role]:
    return dict.fromkeys(words.split(), role)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words of a results post ("TP1 hit", "closed in profit"). A message with one of them is chatter unless it
# also gives a management instruction ("TP1 hit, move SL to entry").
RESULT_WORDS = _words("""
    hit hits reached achieved done smashed booked banked secured nailed printed crushed stopped filled
    triggered activated closed sold bought exited cashed took gain gains gained roi pnl congrats
    congratulations boom win wins winner winning running ran pumped pumping dumped dumping moon mooning
    mooned rocket lfg liquidated rekt lost recap summary results performance stats statistics period
    wow insane profitable
""")

ROLES: dict[str, Role] = {
    **_roles(
        Role.FILLER,
        """
        a an the on of for with and or from by in my our your this that it its one here now please pls plz
        guys team fam everyone trade trades trading signal signals alert alerts setup position positions pos
        play scalp scalping swing swingtrade day daytrade intraday vip premium free margin exchange exchanges
        token pair ticker symbol asset direction type side order orders current small big size
        risk  high medium mid low tight wide quick fast zone area range level levels between around near approx
        approximately regular normal conservative aggressive moderate safe only each per nfa dyor fa ta tf
        timeframe daily weekly monthly hourly chart also plus reward rr ratio max min optional recommended
        suggested use using via cross isolated iso profit profits loss going entering opening taking strong
        very urgent asap
        immediately instantly again dca avg average add adding reentry re hedge alt altcoin gem cornix bot
        auto copy id partial partially rest remaining remainder total full fully entire everything
        contract strike exp expiry expiration expiring dte lotto weeklies call put spot then usdt usd usdc
        busd fdusd tusd eur gbp jpy note notes info follow just quickly
    """,
    ),
    **_roles(Role.BUY, "buy long"),
    **_roles(Role.SELL, "sell short"),
    **_roles(Role.BTO, "bto"),
    **_roles(Role.STO, "sto"),
    **_roles(Role.CLOSE, "close closing exit exiting stc trim cover"),
    **_roles(Role.CANCEL, "cancel cancelled canceled cancelling canceling void invalidated"),
    **_roles(
        Role.UPDATE,
        """
        move moved moving update updated adjust adjusted raise raised lower lowered trail trailing change
        changed set shift shifted modify modified tighten
    """,
    ),
    **_roles(Role.NEW, "new"),
    **_roles(Role.BE, "breakeven be bep"),
    **_roles(Role.TO, "to"),
    **_roles(Role.ENTRY, "entry entries enter ep open price"),
    **_roles(Role.AT, "at"),
    **_roles(Role.LIMIT, "limit lmt"),
    **_roles(Role.MARKET, "market mkt cmp now"),
    **_roles(Role.ABOVE, "above over breaks breakout"),
    **_roles(Role.BELOW, "below under beneath"),
    **_roles(Role.SL, "sl stop stoploss stops invalidation"),
    **_roles(Role.TP, "tp tps target targets tgt tgts pt"),
    **_roles(Role.LEV, "leverage lev"),
    **_roles(Role.QTY, "qty quantity"),
    **_roles(Role.UNIT, "shares share contracts contract cons lots lot units unit"),
    **_roles(Role.RELATIVE, "pips pip points pts ticks"),
    **_roles(Role.HALF, "half"),
    **_roles(Role.QUARTER, "quarter"),
    **_roles(Role.ALL, "all"),
    **_roles(Role.EQUITY_HINT, "stock stocks equity equities"),
    **_roles(Role.CRYPTO_HINT, "crypto"),
    **_roles(Role.FOREX_HINT, "forex fx"),
    **_roles(Role.OPTION_WORD, "calls puts options 0dte"),
    **_roles(
        Role.CRYPTO_CUE,
        """
        futures future perp perpetual perpetuals binance bybit okx okex kucoin bitget
        mexc gate gateio htx huobi bingx phemex bitmex hyperliquid
    """,
    ),
}
# Results words are known words (a results post is recognised, not counted as free text).
ROLES.update({word: Role.RESULT for word in RESULT_WORDS if word not in ROLES})
# "size" is a quantity keyword, but "size 2%" (percent sizing) is ignored: handled where percents are read.
ROLES["size"] = Role.QTY

# Two- and three-word phrases, keyed by their first word: (following words, role). The words may be joined
# by spaces, "-" or "/" ("stop-loss", "s/l"). Longer phrases are listed first.
PHRASES: dict[str, tuple[tuple[tuple[str, ...], Role], ...]] = {
    "stop": ((("loss",), Role.SL), (("targets",), Role.SL), (("target",), Role.SL), (("price",), Role.SL)),
    "s": ((("l",), Role.SL),),
    "take": ((("profit", "targets"), Role.TP), (("profits",), Role.TP), (("profit",), Role.TP)),
    "t": ((("p",), Role.TP),),
    "profit": ((("targets",), Role.TP), (("target",), Role.TP)),
    "price": ((("targets",), Role.TP), (("target",), Role.TP)),
    "exit": ((("targets",), Role.TP), (("target",), Role.TP)),
    "entry": ((("targets",), Role.ENTRY), (("target",), Role.ENTRY)),
    "break": ((("even",), Role.BE), (("of",), Role.ABOVE)),
    "b": ((("e",), Role.BE),),
    "sell": (
        (("to", "close"), Role.CLOSE),
        (("to", "open"), Role.STO),
        (("zone",), Role.SELL),
        (("range",), Role.SELL),
        (("area",), Role.SELL),
        (("between",), Role.SELL),
        (("off",), Role.COMMENTARY),
        (("the", "news"), Role.COMMENTARY),
    ),
    "buy": (
        (("to", "close"), Role.CLOSE),
        (("to", "open"), Role.BTO),
        (("zone",), Role.BUY),
        (("range",), Role.BUY),
        (("area",), Role.BUY),
        (("between",), Role.BUY),
        (("back",), Role.COMMENTARY),
        (("the", "rumor"), Role.COMMENTARY),
        (("the", "dip"), Role.COMMENTARY),
        (("and", "hold"), Role.COMMENTARY),
    ),
    "at": (
        (("market",), Role.MARKET),
        (("open",), Role.MARKET),
        (("cmp",), Role.MARKET),
        (("close",), Role.FILLER),
    ),
    "market": ((("price",), Role.MARKET), (("close",), Role.FILLER), (("open",), Role.FILLER)),
    "the": ((("close",), Role.FILLER), (("open",), Role.FILLER)),
    "current": ((("market", "price"), Role.MARKET), (("price",), Role.MARKET)),
    "close": (
        (("to",), Role.FILLER),
        (("above",), Role.FILLER),
        (("below",), Role.FILLER),
        (("under",), Role.FILLER),
        (("over",), Role.FILLER),
        (("price",), Role.FILLER),
    ),
    "closing": ((("above",), Role.FILLER), (("below",), Role.FILLER), (("price",), Role.FILLER)),
    "closer": ((("to",), Role.FILLER),),
    "candle": ((("close",), Role.FILLER),),
    "daily": ((("close",), Role.FILLER),),
    "weekly": ((("close",), Role.FILLER),),
    "scale": ((("out", "of"), Role.CLOSE), (("out",), Role.CLOSE)),
    "long": (
        (("term",), Role.COMMENTARY),
        (("wick",), Role.COMMENTARY),
        (("time",), Role.COMMENTARY),
        (("story",), Role.COMMENTARY),
    ),
    "short": (
        (("term",), Role.COMMENTARY),
        (("squeeze",), Role.COMMENTARY),
        (("interest",), Role.COMMENTARY),
        (("wick",), Role.COMMENTARY),
        (("sellers",), Role.COMMENTARY),
        (("on", "time"), Role.COMMENTARY),
        (("story",), Role.COMMENTARY),
    ),
    "in": ((("profit",), Role.RESULT), (("loss",), Role.RESULT), (("the", "money"), Role.RESULT)),
    "all": ((("targets",), Role.RESULT),),
    "stopped": ((("out",), Role.RESULT),),
}

# The first two words of commentary phrases, checked by the screen before any parsing.
COMMENTARY_PAIRS = frozenset(
    (head, rest[0])
    for head, phrases in PHRASES.items()
    for rest, role in phrases
    if role is Role.COMMENTARY and len(rest) == 1
)

# Words that make a message commentary, a hypothesis, a question or a negation: never a signal.
COMMENTARY_WORDS = _words("""
    might maybe perhaps probably possibly could would wouldn't couldn't i'd we'd you'd if unless when whenever
    once think thinking thought thoughts believe feel feeling guess expect expecting hope hoping hopefully wish
    wondering wonder considering consider planning wanna gonna want wants looks looking look seems seem watching
    watch watchlist radar eyeing tomorrow tonight later yesterday soon opinion imo imho analysis lol lmao haha
    anyone anybody someone should shouldn't what why how who which wen news breaking report reports reported
    say says said according announces announced announcement rumor rumour rumors let let's lets not don't dont
    never avoid wait waiting already still holding missed pray praying likely unlikely potential potentially
    possible chance careful beware warning scam learn lesson tutorial example hypothetically suppose assuming
    wanted tempted idk dunno will won't ready what's how's who's where where's it's was were been had
    raises cuts upgrades downgrades upgrade downgrade reiterates initiates analyst analysts rating ratings coverage
    i i'm im i've ive me mine
""")

# Words that can carry a management instruction past a results word.
MANAGEMENT_WORDS = _words("""
    move moving moved trail raise adjust update set shift tighten lower close closing exit cancel cancelled
    canceled breakeven be trim cover stc
""")

# Words that can start a signal; a message with none of them (and no alias) is rejected at once.
TRIGGER_WORDS = _words("""
    buy long sell short bto sto stc close closing exit exiting trim cover cancel cancelled canceled cancelling
    void invalidated sl stop stoploss tp tps target targets tgt entry entries move moved moving update updated
    adjust raise trail tighten breakeven bep scale
""")

STRONG_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "PERP"})
WEAK_QUOTES = frozenset({"USD", "BTC", "ETH", "EUR", "BNB", "DAI"})
ISO_CURRENCIES = _words("""
    USD EUR GBP JPY CHF AUD CAD NZD SEK NOK DKK PLN HUF CZK TRY ZAR MXN SGD HKD CNH CNY INR RUB BRL KRW THB ILS
""")
METALS = frozenset({"XAU", "XAG", "XPT", "XPD"})
# Commodity names and CFD indices a forex broker lists; "GOLD" means the XAU/USD pair.
FOREX_NAMES: dict[str, str] = {"GOLD": "XAU/USD", "SILVER": "XAG/USD"}
CFD_SYMBOLS = _words("""
    US30 US100 NAS100 NDX100 SPX500 US500 GER40 GER30 DE40 DAX40 UK100 JP225 FRA40 AUS200 HK50 USOIL UKOIL
    WTI BRENT NATGAS XTIUSD XBRUSD
""")

# Crypto bases that are unambiguous even written bare and in lower case.
BARE_CRYPTO = _words("""
    BTC ETH SOL XRP BNB ADA DOGE AVAX DOT MATIC POL LINK LTC TRX SHIB PEPE ARB SUI APT TON ATOM FIL INJ TIA
    SEI WIF BONK FLOKI RNDR RENDER FET AAVE UNI ETC BCH XLM HBAR ICP ALGO SAND MANA AXS GALA APE CRV LDO MKR
    SNX RUNE EGLD FTM KAS STX IMX GRT JUP PYTH ORDI WLD ENA ONDO TAO 1INCH XMR ZEC EOS XTZ VET THETA CHZ
    ENJ KSM QNT MINA ZIL IOTA NEO KAVA CAKE COMP YFI SUSHI DYDX GMX BLUR STRK ZRO JTO BOME POPCAT BRETT
    TURBO NEIRO HYPE LUNA LUNC USTC ANKR CFX AGIX ARKM MANTA DYM AEVO ETHFI LISTA JASMY XEC XDC KDA CELO
    ICX ZRX LRC SKL STORJ HNT SSV RPL PENDLE GNS WOO RAY ORCA JOE BTT WAXP DOGS HMSTR CATI EIGEN VIRTUAL
    FARTCOIN TRUMP PNUT ACT GRASS MOODENG SPX6900 KAITO BERA
""")
# Crypto bases that are also English words: a symbol only with "$"/"#" or a quote ("OP/USDT", "NEARUSDT").
WORDLIKE_CRYPTO = _words("""
    OP NEAR ONE NOT ID GAS HOT SUN MOVE PEOPLE W ALT IO BB ZK MEME MAGIC PORTAL SAFE BANANA GOAT DOG CAT MEW
    AR ROSE FLOW DASH WAVES OCEAN BAT SAGA OMNI REZ PIXEL ME ACE EDU
""")
KNOWN_CRYPTO = BARE_CRYPTO | WORDLIKE_CRYPTO

# Upper-case words that are not tickers when written bare (a "$" makes them tickers: "$ALL", "$NOW").
ENGLISH_CAPS = _words("""
    A I X AM AN AND ANY ARE AS AT BE BUT BY CAN DO FOR GO HAS HE IF IN IS IT ITS ME MY NO NOT OF OK OKAY ON
    ONE OR OUR OUT SO THE TO UP US WE YOU YES ALL NEW NOW GET GOT LET LETS SEE BIG TOP LOW HIGH MAX MIN DIP
    MOON PUMP DUMP HOLD HODL GAIN GAINS LOSS WIN RUN JUST VERY MORE LESS THIS THAT WITH FROM THEN THAN WHEN
    WHAT WHY HOW WHO WILL BEEN HAVE HERE THERE INTO ONLY ALSO EACH SOME BACK OVER UNDER ABOVE BELOW SAFE
    RISK HUGE NICE GOOD BEST EASY FAST SLOW HOT FIRE NEWS ALERT CALL PUT PLAY SWING SCALP DAY WEEK TODAY
    ATH ATL EOD EOW AH PM PT DD FOMO FUD YOLO LFG GM GN WAGMI NGMI IMO IMHO TBH IDK LOL LMAO OMG WTF RSI
    MACD EMA SMA MA VWAP ATR FIB OB FVG BOS CHOCH SR RR TA FA NFA DYOR VIP CEO SEC FED CPI FOMC GDP ETF IPO
    EPS PE AI USA UK EU NYSE NASDAQ OTC SPAC DTE ITM OTM ATM IV EST UTC GMT CET ET PST HOUR HOURS MIN MINS
    LONG SHORT BUY SELL BTO STO STC CLOSE EXIT OPEN ENTRY STOP LIMIT MARKET TARGET TP SL TPS SIGNAL TRADE
    USDT USD USDC BUSD EUR GBP JPY SPOT MARGIN CROSS LEVERAGE PLEASE GUYS TEAM DONE HIT BOOM WOW YAY HALF
    FULL REST PART ZONE AREA RANGE NEXT LAST FIRST WEEKLY DAILY RE NEAR SIZE QTY LOT LOTS UPDATE MOVE NOTE
    PLAN IDEA BULL BEAR BULLS BEARS BULLISH BEARISH WAIT HOLDERS LETS GO GOING FLY FLYING SEND SENDING
    ALERTS PRO FREE JOIN DM DMS BIO POST READ SOON LATER EARLY LATE
    ABOUT AFTER AGAIN AGO AIR AWAY BAD BEEN BEFORE BEING BOTH CAME COME COULD DID DOES DONT DOWN EVEN EVER
    EVERY FEW FIND GAVE GIVE GONE GREAT HAD HAND HARD HEAD HELP HER HERS HIM HIS HOME HOPE INTO KEEP KIND
    KING KNOW LIFE LIKE LIVE LONG LOOK LOT LOVE MADE MAKE MANY MIND MOST MUCH MUST NAME NEED NEVER NONE
    OFF OFTEN OLD ONCE OTHER OWN PAST PAY PEAK PRICE REAL RIGHT SAID SAME SAY SHE SHOW SIDE SINCE SOON
    STILL SUCH SURE TAKE TELL THEM THEY THING THINK TIME TOO TRUE TRY TURN TWO USE WANT WAS WAY WELL WENT
    WERE WHERE WHICH WHILE WORK WOULD YEAR YOUR ZERO SWEET BOOM BUST CRASH DUMP RALLY WICK BAG BAGS HOLD
    SELL RUG REKT APE APES DEGEN CHAD BASED GOAT GG GL HF THX TY PLS PLZ LETS YOLO HYPE MOON BULL BEAR
    EASY WILD CRAZY HUGE SOLID CLEAN NICE SIMPLE QUICK SHARP HEAVY LIGHT READY STAY WATCH AWAIT SETUP
    ENTER TRADE CHART DATA NEWS FED RATE RATES CUT HIKE PAUSE JOBS PMI PPI NFP GOLD OIL GAS DXY VIX
    DAILY HOURS WEEKS MONTH MONTHS YEARS TODAY NIGHT MORN NOON EVE FRI MON TUE WED THU SAT SUN JAN FEB MAR
    APR MAY JUN JUL AUG SEP SEPT OCT NOV DEC
""")

TIMEFRAME_RE = re.compile(r"(?:[0-9]{1,3}(?:m|min|h|hr|d|w)|[mhdw][0-9]{1,3})")
INDEXED_TP_RE = re.compile(r"(?:tp|t|target|tgt|pt)([0-9]{1,2})")
INDEXED_ENTRY_RE = re.compile(r"(?:entry|e|sl)([0-9]{1,2})")

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
