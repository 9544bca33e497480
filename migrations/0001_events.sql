-- Core event storage. Ids and pubkeys are stored as 32-byte bytea; `raw` is the canonical JSON
-- served to clients without re-serialisation (id first, see lib/nostr/event.ts canonicalJson).

create table authors (
  id bigint generated always as identity primary key,
  pubkey bytea not null unique check (octet_length(pubkey) = 32)
);

create table events (
  id bigint generated always as identity primary key,
  event_id bytea not null unique check (octet_length(event_id) = 32),
  author_id bigint not null references authors (id),
  kind integer not null,
  created_at bigint not null,
  -- d tag of addressable kinds (30000-39999), null otherwise
  d_tag text,
  -- NIP-40 expiration (unix seconds), null when none
  expires_at bigint,
  raw text not null
);

-- Recent events across all kinds (REQ without authors/kinds/tags).
create index events_created_at_idx on events (created_at desc);
-- By author (+ kind) and time: profiles, contact lists, timelines.
create index events_author_kind_created_idx on events (author_id, kind, created_at desc);
-- By kind and time: global feeds of one kind.
create index events_kind_created_idx on events (kind, created_at desc);
-- One current version per replaceable / addressable coordinate.
create unique index events_replaceable_idx on events (author_id, kind)
  where kind in (0, 3) or (kind >= 10000 and kind < 20000);
create unique index events_addressable_idx on events (author_id, kind, d_tag)
  where kind >= 30000 and kind < 40000;
-- NIP-40 purge.
create index events_expires_at_idx on events (expires_at) where expires_at is not null;

-- Single-letter tags, first value only; created_at is copied so that tag queries walk the
-- index newest first without touching events.
create table searchable_tags (
  event_id bigint not null references events (id) on delete cascade,
  name char(1) not null,
  value text not null,
  created_at bigint not null,
  primary key (name, value, created_at, event_id)
);
create index searchable_tags_event_idx on searchable_tags (event_id);

-- NIP-09 tombstones by event id: an event with this id by this author is never stored again.
create table delete_events (
  event_id bytea not null,
  author_id bigint not null references authors (id),
  deletion_id bytea not null,
  primary key (event_id, author_id)
);

-- NIP-09 tombstones by address: versions of (author, kind, d) with created_at <= until are
-- deleted and refused.
create table delete_addresses (
  author_id bigint not null references authors (id),
  kind integer not null,
  d_tag text not null,
  until bigint not null,
  deletion_id bytea not null,
  primary key (author_id, kind, d_tag)
);

-- NIP-50 full-text search.
create table searchable_contents (
  event_id bigint primary key references events (id) on delete cascade,
  tsv tsvector not null
);
create index searchable_contents_tsv_idx on searchable_contents using gin (tsv);
