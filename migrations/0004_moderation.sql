-- Moderation (admin pages and NIP-86, services/moderation.ts): bans and allow lists of pubkeys
-- and events, the kind policy, and NIP-86 roles and method grants. Blocked IPs and the NIP-11
-- overrides live in Redis (`blocked_ips`, `relay_info`), beside the other hot settings.

-- Pubkeys whose events are refused ("blocked: this pubkey is banned").
create table banned_pubkeys (
  pubkey bytea primary key check (octet_length(pubkey) = 32),
  reason text not null default '',
  created_at timestamptz not null default now()
);

-- The pubkey allow list: when it has any row, only these pubkeys may publish.
create table allowed_pubkeys (
  pubkey bytea primary key check (octet_length(pubkey) = 32),
  reason text not null default '',
  created_at timestamptz not null default now()
);

-- Events removed and refused for good ("blocked: this event is banned"); pubkey when known.
create table banned_events (
  event_id bytea primary key check (octet_length(event_id) = 32),
  pubkey bytea check (octet_length(pubkey) = 32),
  reason text not null default '',
  created_at timestamptz not null default now()
);

-- Events a moderator reviewed and kept (they leave the moderation queue).
create table allowed_events (
  event_id bytea primary key check (octet_length(event_id) = 32),
  reason text not null default '',
  created_at timestamptz not null default now()
);

-- Kind policy: allowed = false refuses the kind; when any kind is allowed = true, only those
-- kinds are accepted.
create table kind_policy (
  kind integer primary key check (kind >= 0 and kind <= 65535),
  allowed boolean not null,
  created_at timestamptz not null default now()
);

-- NIP-86 roles (labels an admin assigns to pubkeys) and per-method grants.
create table nip86_roles (
  id text primary key check (length(id) between 1 and 64),
  label text not null default '',
  description text not null default '',
  color text not null default '',
  position integer not null default 0,
  created_at timestamptz not null default now()
);

create table nip86_role_members (
  pubkey bytea not null check (octet_length(pubkey) = 32),
  role_id text not null references nip86_roles (id) on delete cascade,
  created_at timestamptz not null default now(),
  primary key (pubkey, role_id)
);
create index nip86_role_members_role_idx on nip86_role_members (role_id);

create table nip86_method_grants (
  pubkey bytea not null check (octet_length(pubkey) = 32),
  method text not null,
  created_at timestamptz not null default now(),
  primary key (pubkey, method)
);
