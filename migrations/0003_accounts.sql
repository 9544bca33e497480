-- Accounts and access levels (auth levels 2-4) and admin users.

create table users (
  id bigint generated always as identity primary key,
  email text not null,
  password_hash text not null,
  admin boolean not null default false,
  confirmed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_email_idx on users (lower(email));

-- Pubkeys linked to a registered user (auth level 2), optionally with a NIP-05 name.
create table user_pubkeys (
  author_id bigint primary key references authors (id),
  user_id bigint not null references users (id) on delete cascade,
  nip05_name text,
  created_at timestamptz not null default now()
);
create index user_pubkeys_user_idx on user_pubkeys (user_id);
create unique index user_pubkeys_nip05_idx on user_pubkeys (lower(nip05_name))
  where nip05_name is not null and nip05_name <> '';

-- Paid or granted subscriptions (auth level 3 while expires_at is in the future).
create table author_subscriptions (
  author_id bigint primary key references authors (id),
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Trusted authors (auth level 4).
create table trusted_authors (
  author_id bigint primary key references authors (id),
  created_at timestamptz not null default now()
);
