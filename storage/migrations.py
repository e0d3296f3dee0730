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
    # history (/stats, /api/series, health): hourly activity beside the per-minute rows; latency histogram,
    # rejection reasons and order statuses per minute (period 60) and hour (3600); system samples; a running
    # realized-PnL total per paper fill. Order statuses are kept by triggers inside the order writes.
    """
    CREATE TABLE activity_hourly (
        hour INTEGER NOT NULL,
        source TEXT NOT NULL,
        name TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (hour, source, name)
    ) WITHOUT ROWID;
    INSERT INTO activity_hourly (hour, source, name, count)
        SELECT minute / 60, source, name, SUM(count) FROM activity GROUP BY minute / 60, source, name;

    CREATE TABLE latency_histogram (
        period INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (period, slot, bucket)
    ) WITHOUT ROWID;

    CREATE TABLE rejections (
        period INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (period, slot, reason)
    ) WITHOUT ROWID;
    INSERT INTO rejections (period, slot, reason, count)
        SELECT p.period, CAST(s.received_at / p.period AS INTEGER), substr(s.reason, 1, 200), COUNT(*)
        FROM signals AS s, (SELECT 60 AS period UNION ALL SELECT 3600) AS p
        WHERE s.outcome IN ('risk_rejected', 'invalid', 'failed', 'unauthorized') AND s.reason IS NOT NULL
        GROUP BY 1, 2, 3;

    CREATE TABLE order_statuses (
        period INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        status TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (period, slot, status)
    ) WITHOUT ROWID;
    INSERT INTO order_statuses (period, slot, status, count)
        SELECT p.period, CAST(o.created_at / p.period AS INTEGER), o.status, COUNT(*)
        FROM orders AS o, (SELECT 60 AS period UNION ALL SELECT 3600) AS p
        GROUP BY 1, 2, 3;
    CREATE TRIGGER orders_count_insert AFTER INSERT ON orders BEGIN
        INSERT INTO order_statuses (period, slot, status, count) VALUES
            (60, CAST(NEW.created_at / 60 AS INTEGER), NEW.status, 1),
            (3600, CAST(NEW.created_at / 3600 AS INTEGER), NEW.status, 1)
        ON CONFLICT (period, slot, status) DO UPDATE SET count = count + excluded.count;
    END;
    CREATE TRIGGER orders_count_status AFTER UPDATE OF status ON orders WHEN OLD.status IS NOT NEW.status BEGIN
        INSERT INTO order_statuses (period, slot, status, count) VALUES
            (60, CAST(OLD.created_at / 60 AS INTEGER), OLD.status, -1),
            (3600, CAST(OLD.created_at / 3600 AS INTEGER), OLD.status, -1),
            (60, CAST(NEW.created_at / 60 AS INTEGER), NEW.status, 1),
            (3600, CAST(NEW.created_at / 3600 AS INTEGER), NEW.status, 1)
        ON CONFLICT (period, slot, status) DO UPDATE SET count = count + excluded.count;
    END;

    CREATE TABLE system_samples (
        at REAL NOT NULL,
        period REAL NOT NULL,
        memory_mb REAL,
        cpu_percent REAL,
        loop_lag_ms REAL,
        discord_latency_ms REAL
    );
    CREATE INDEX system_samples_at ON system_samples (at);

    ALTER TABLE paper_fills ADD COLUMN realized_pnl_total TEXT;
    CREATE INDEX paper_fills_filled_at ON paper_fills (filled_at);
    """,
    # risk: the per-symbol cooldown looks up the last executed entry in a symbol.
    """
    CREATE INDEX signals_symbol ON signals (symbol, received_at);
    """,
)
