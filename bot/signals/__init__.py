"""Reading trade signals: the pure parser, the JSON schema and the TradingView payload mapping."""
