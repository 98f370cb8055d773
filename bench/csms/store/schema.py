"""The CSMS database's schema as numbered steps (``PRAGMA user_version``).

A step that has shipped is never edited; a change is a new step. Step 1 is the schema
the CSMS had before versioning (its ``CREATE ... IF NOT EXISTS`` made any older
database match it).
"""

STEPS: list[str] = [
    # 1: the schema before versioning
    """
CREATE TABLE IF NOT EXISTS charge_points (
    id TEXT PRIMARY KEY,
    password_hash TEXT,
    boot_policy TEXT NOT NULL DEFAULT 'Accepted'
        CHECK (boot_policy IN ('Accepted', 'Pending', 'Rejected')),
    heartbeat_interval INTEGER NOT NULL DEFAULT 60,
    last_boot TEXT,            -- JSON of the last BootNotification payload
    last_boot_ts TEXT,
    last_heartbeat_ts TEXT
);
CREATE TABLE IF NOT EXISTS id_tags (
    id_tag TEXT PRIMARY KEY COLLATE NOCASE,   -- IdToken is a CiString20
    status TEXT NOT NULL CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid')),
    expiry_date TEXT,
    parent_id_tag TEXT
);
CREATE TABLE IF NOT EXISTS transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    meter_start INTEGER NOT NULL,
    start_ts TEXT NOT NULL,
    reservation_id INTEGER,
    start_status TEXT,
    start_received_ts TEXT,
    meter_stop INTEGER,
    stop_ts TEXT,
    stop_reason TEXT,
    stop_id_tag TEXT,
    stop_received_ts TEXT,
    -- identity of the StartTransaction.req: a retried request maps to the same row
    UNIQUE (cp_id, connector_id, id_tag, start_ts, meter_start)
);
CREATE TABLE IF NOT EXISTS unknown_stops (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    transaction_id INTEGER NOT NULL,
    meter_stop INTEGER NOT NULL,
    stop_ts TEXT NOT NULL,
    stop_reason TEXT,
    id_tag TEXT,
    received_ts TEXT NOT NULL,
    UNIQUE (cp_id, transaction_id, stop_ts, meter_stop)
);
CREATE TABLE IF NOT EXISTS meter_values (
    id INTEGER PRIMARY KEY,
    transaction_id INTEGER,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    ts TEXT NOT NULL,
    measurand TEXT NOT NULL,
    value TEXT NOT NULL,
    unit TEXT,
    context TEXT NOT NULL,
    phase TEXT,
    location TEXT NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL       -- MeterValues or StopTransaction (transactionData)
);
-- A retried MeterValues.req, or transactionData repeating samples, is stored once.
CREATE UNIQUE INDEX IF NOT EXISTS meter_values_once ON meter_values (
    cp_id, connector_id, COALESCE(transaction_id, -1), ts, measurand,
    COALESCE(phase, ''), location, context, format
);
CREATE INDEX IF NOT EXISTS meter_values_tx ON meter_values (transaction_id);
CREATE TABLE IF NOT EXISTS status_notifications (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    error_code TEXT NOT NULL,
    info TEXT,
    vendor_id TEXT,
    vendor_error_code TEXT,
    ts TEXT,
    received_ts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_by_connector
    ON status_notifications (cp_id, connector_id, id);
CREATE TABLE IF NOT EXISTS notifications (  -- firmware, diagnostics, log, security events
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT,
    payload TEXT NOT NULL,
    received_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS operations (  -- every CSMS-initiated request and its outcome
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    action TEXT NOT NULL,
    request TEXT NOT NULL,     -- JSON, as sent
    response TEXT,             -- JSON, as received (NULL until answered / on error)
    error TEXT,                -- NotConnected, Timeout, CALLERROR <code>, ...
    requested_ts TEXT NOT NULL,
    answered_ts TEXT
);
CREATE INDEX IF NOT EXISTS operations_by_cp ON operations (cp_id, id);
CREATE TABLE IF NOT EXISTS firmware_updates (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    firmware TEXT,             -- file name in the FTP store, if the CSMS built the location
    location TEXT NOT NULL,
    retrieve_date TEXT NOT NULL,
    requested_ts TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, Refused, then the FirmwareStatusNotification status
    status_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS diagnostics_requests (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    location TEXT NOT NULL,
    file_name TEXT,            -- GetDiagnostics.conf fileName
    requested_ts TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, NoFile, Refused, then DiagnosticsStatusNotification
    status_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY,    -- the reservationId
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    id_tag TEXT NOT NULL,
    parent_id_tag TEXT,
    expiry_date TEXT NOT NULL,
    status TEXT NOT NULL,      -- Requested, the ReserveNow.conf status, Cancelled, Used
    created_ts TEXT NOT NULL,
    ended_ts TEXT,
    transaction_id INTEGER
);
CREATE TABLE IF NOT EXISTS local_lists (
    cp_id TEXT PRIMARY KEY,
    version INTEGER,           -- of the last SendLocalList the charge point accepted
    entries TEXT NOT NULL DEFAULT '{}',  -- JSON idTag -> idTagInfo it holds since then
    last_update_type TEXT,
    last_status TEXT,
    updated_ts TEXT,
    reported_version INTEGER,  -- from the last GetLocalListVersion
    reported_ts TEXT
);
CREATE TABLE IF NOT EXISTS charging_profiles (  -- installed on the charge point, as we know it
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    profile_id INTEGER NOT NULL,
    stack_level INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    kind TEXT NOT NULL,
    transaction_id INTEGER,
    profile TEXT NOT NULL,     -- JSON ChargingProfile
    installed_ts TEXT
);
CREATE TABLE IF NOT EXISTS composite_checks (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    connector_id INTEGER NOT NULL,
    checked_ts TEXT NOT NULL,
    expected TEXT,             -- JSON ChargingSchedule the CSMS predicted
    reported TEXT,             -- JSON GetCompositeSchedule.conf
    problems TEXT NOT NULL,    -- JSON list; empty = the charge point agrees
    ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS configuration (  -- keys as last reported by GetConfiguration
    cp_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    readonly INTEGER,
    reported_ts TEXT NOT NULL,
    PRIMARY KEY (cp_id, key)
);
""",
    # 2: the security extension: per charge point profile, certificates, logs, signed firmware
    """
CREATE TABLE IF NOT EXISTS cp_security (
    cp_id TEXT PRIMARY KEY,
    profile INTEGER NOT NULL CHECK (profile IN (1, 2, 3)),
    pending_hash TEXT,          -- a new AuthorizationKey, valid next to the old one
    pending_profile INTEGER,    -- a higher profile the charge point accepted
    pending_ts TEXT
);
CREATE TABLE IF NOT EXISTS issued_certificates (
    id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    serial TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_after TEXT NOT NULL,
    pem TEXT NOT NULL,
    issued_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS installed_certificates (
    cp_id TEXT NOT NULL,
    certificate_type TEXT NOT NULL,
    hash_data TEXT NOT NULL,    -- JSON list of CertificateHashDataType, as reported
    status TEXT NOT NULL,
    reported_ts TEXT NOT NULL,
    PRIMARY KEY (cp_id, certificate_type)
);
CREATE TABLE IF NOT EXISTS log_requests (
    request_id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    log_type TEXT NOT NULL,
    location TEXT NOT NULL,     -- credentials redacted
    file_name TEXT,
    status TEXT NOT NULL,       -- Requested, then the GetLog answer, then LogStatusNotification
    requested_ts TEXT NOT NULL,
    status_ts TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signed_firmware (
    request_id INTEGER PRIMARY KEY,
    cp_id TEXT NOT NULL,
    firmware TEXT,              -- file name in the FTP store, if the CSMS built the request
    location TEXT NOT NULL,     -- credentials redacted
    status TEXT NOT NULL,       -- Requested, the answer, then SignedFirmwareStatusNotification
    requested_ts TEXT NOT NULL,
    status_ts TEXT NOT NULL
);
""",
]
