"""Numbered schema migrations; the applied version lives in `PRAGMA user_version`.

Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: signals, orders, per-minute activity counters, bot state, the paper broker's books.
    """
    CREATE TABLE signals (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        author_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        text TEXT NOT NULL,
        kind TEXT,
        symbol TEXT,
        fingerprint TEXT,
        parsed TEXT,
        outcome TEXT NOT NULL,
        reason TEXT,
        latency_seconds REAL,
        updated_at REAL NOT NULL,
        UNIQUE (source, channel_id, message_id)
    );
    CREATE INDEX signals_received_at ON signals (received_at);
    CREATE INDEX signals_duplicate_lookup ON signals (author_id, fingerprint, received_at);

    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        signal_id TEXT NOT NULL REFERENCES signals (id),
        leg INTEGER NOT NULL,
        broker TEXT NOT NULL,
        symbol TEXT NOT NULL,
        asset_class TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        quantity TEXT NOT NULL,
        limit_price TEXT,
        stop_price TEXT,
        stop_loss TEXT,
        take_profit TEXT,
        time_in_force TEXT NOT NULL,
        reduce_only INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL,
        broker_order_id TEXT,
        filled_quantity TEXT NOT NULL DEFAULT '0',
        average_fill_price TEXT,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        UNIQUE (signal_id, leg)
    );
    CREATE INDEX orders_status ON orders (status);
    CREATE INDEX orders_created_at ON orders (created_at);

    CREATE TABLE activity (
        minute INTEGER NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (minute, source, name)
    ) WITHOUT ROWID;

    CREATE TABLE bot_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE paper_account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        cash TEXT NOT NULL,
        realized_pnl TEXT NOT NULL
    );

    CREATE TABLE paper_positions (
        symbol TEXT PRIMARY KEY,
        quantity TEXT NOT NULL,
        average_price TEXT NOT NULL,
        updated_at REAL NOT NULL
    );

    CREATE TABLE paper_orders (
        client_order_id TEXT PRIMARY KEY,
        broker_order_id TEXT NOT NULL UNIQUE,
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        type TEXT NOT NULL,
        quantity TEXT NOT NULL,
        limit_price TEXT,
        stop_price TEXT,
        stop_loss TEXT,
        take_profit TEXT,
        status TEXT NOT NULL,
        filled_quantity TEXT NOT NULL,
        average_fill_price TEXT,
        reason TEXT,
        created_at REAL NOT NULL
    );

    CREATE TABLE paper_fills (
        id INTEGER PRIMARY KEY,
        client_order_id TEXT NOT NULL REFERENCES paper_orders (client_order_id),
        symbol TEXT NOT NULL,
        side TEXT NOT NULL,
        quantity TEXT NOT NULL,
        price TEXT NOT NULL,
        realized_pnl TEXT NOT NULL,
        filled_at REAL NOT NULL
    );
    """,
    # 2: "close half" without a symbol applies to the author's last signal in the channel.
    """
    CREATE INDEX signals_author_channel ON signals (author_id, channel_id, received_at);
    """,
    # 3 (paper broker): bracket exits live on the filled entry order until a stop or target closes them;
    # fills say whether they were an entry or which exit.
    """
    ALTER TABLE paper_orders ADD COLUMN exit_state TEXT;
    ALTER TABLE paper_fills ADD COLUMN kind TEXT NOT NULL DEFAULT 'entry';
    CREATE INDEX paper_orders_working ON paper_orders (status, exit_state);
    """,
    # 4 (secret store): AES-GCM encrypted broker credentials, and the scrypt salt/cost for a passphrase key.
    """
    CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        updated_at REAL NOT NULL
    );

    CREATE TABLE secret_kdf (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        salt BLOB NOT NULL,
        scrypt_n INTEGER NOT NULL,
        scrypt_r INTEGER NOT NULL,
        scrypt_p INTEGER NOT NULL
    );
    """,
    # management: a stop move or cancel (or an edit) remembers the signal it manages, so start-up
    # recovery can finish one that a crash interrupted.
    """
    ALTER TABLE signals ADD COLUMN target_signal_id TEXT;
    """,
    # tracing (/trace, /api/trace): each step of a signal's chain with its time; detail is JSON.
    """
    CREATE TABLE signal_events (
        id INTEGER PRIMARY KEY,
        signal_id TEXT NOT NULL REFERENCES signals (id),
        step TEXT NOT NULL,
        at REAL NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX signal_events_signal ON signal_events (signal_id, id);
    """,
)
