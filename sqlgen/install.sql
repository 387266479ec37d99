-- segmatch helper functions for SQL pushdown (sqlgen). Every function is
-- IMMUTABLE, never raises on any input (each cast is gated), and returns
-- NULL for "not this type"; except three internal pieces of the others,
-- segmatch_decimal_u, segmatch_zone and segmatch_date_fields, which are
-- only given what their caller has checked (a number's text and its
-- unsigned part; a zone and the fields of a date of the accepted forms).
-- Installed by sqlgen.Install; re-running it replaces them (CREATE OR
-- REPLACE).

-- segmatch_get reads a field path from v (SEMANTICS "Contacts and fields"):
-- keys[i] is the step's key, kinds[i] is 0 for a key, 1 for a decimal
-- step (an index on an array, a key on an object), 2 for a final '#'.
-- A step that meets an array fans out over its elements; the fan-out is
-- returned as a jsonb array of the values reached (an array reached is
-- flattened one level, as operators.Value.Any does). Missing is SQL NULL.
CREATE OR REPLACE FUNCTION segmatch_get(v jsonb, keys text[], kinds int[], i int DEFAULT 1)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
	n int := coalesce(array_length(keys, 1), 0);
	out jsonb;
	e jsonb;
	r jsonb;
	found bool := false;
BEGIN
	WHILE i <= n LOOP
		IF v IS NULL THEN
			RETURN NULL;
		END IF;
		CASE jsonb_typeof(v)
		WHEN 'object' THEN
			IF kinds[i] = 2 THEN
				RETURN NULL;
			END IF;
			v := v -> keys[i];
		WHEN 'array' THEN
			IF kinds[i] = 2 THEN
				RETURN to_jsonb(jsonb_array_length(v));
			ELSIF kinds[i] = 1 THEN
				v := v -> (keys[i]::int);
			ELSE
				out := '[]'::jsonb;
				FOR e IN SELECT x FROM jsonb_array_elements(v) AS t(x) LOOP
					r := segmatch_get(e, keys, kinds, i);
					IF r IS NOT NULL THEN
						found := true;
						IF jsonb_typeof(r) = 'array' THEN
							out := out || r;
						ELSE
							out := out || jsonb_build_array(r);
						END IF;
					END IF;
				END LOOP;
				IF found THEN
					RETURN out;
				END IF;
				RETURN NULL;
			END IF;
		ELSE
			RETURN NULL;
		END CASE;
		i := i + 1;
	END LOOP;
	RETURN v;
END
$fn$;

-- The helpers the clauses call per row are LANGUAGE sql single
-- expressions that the planner inlines (no per-call overhead: they run as
-- the plain expressions they are), as long as every argument used twice
-- is cheap (a column, or a few operators): sqlgen only ever passes such
-- arguments. Their rare inputs (numbers near float64's range, exponents)
-- go to plpgsql functions (*_edge, *_slow), exact on anything.

-- segmatch_f8_edge converts a numeric to float8 as Go's strconv.ParseFloat
-- (and gjson) would: beyond float64's range is +-Infinity, below half the
-- smallest subnormal is 0. It never raises.
CREATE OR REPLACE FUNCTION segmatch_f8_edge(n numeric)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
	IF abs(n) >= 179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792 THEN
		RETURN sign(n)::float8 * 'Infinity'::float8;
	ELSIF abs(n) <= 0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000024703282292062327208828439643411068618252990130716238221279284125033775363510437593264991818081799618989828234772285886546332835517796989819938739800539093906315035659515570226392290858392449105184435931802849936536152500319370457678249219365623669863658480757001585769269903706311928279558551332927834338409351978015531246597263579574622766465272827220056374006485499977096599470454020828166226237857393450736339007967761930577506740176324673600968951340535537458516661134223766678604162159680461914467291840300530057530849048765391711386591646239524912623653881879636239373280423891018672348497668235089863388587925628302755995657524455507255189313690836254779186948667994968324049705821028513185451396213837722826145437693412532098591327667236328125 THEN
		RETURN 0;
	END IF;
	RETURN n::float8;
END
$fn$;

-- segmatch_f8 is segmatch_f8_edge, inlinable: a numeric of float64's
-- normal range is cast as it is.
CREATE OR REPLACE FUNCTION segmatch_f8(n numeric)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN n BETWEEN -1e300 AND 1e300 AND (n = 0 OR n >= 1e-300 OR n <= -1e-300)
	THEN n::float8 ELSE segmatch_f8_edge(n) END
$fn$;

-- segmatch_decimal reads a string as SEMANTICS rule 1 does
-- (operators.ParseDecimal): an optional sign, digits with an optional
-- fraction (or a fraction alone), an optional exponent, nothing else; a
-- value beyond float64's range is not a number. NULL when not a number.
CREATE OR REPLACE FUNCTION segmatch_decimal_slow(t text)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
	m text[];
	digs text;
	lead int;
	e numeric;
	n numeric;
	f float8;
BEGIN
	m := regexp_match(t, '^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?$');
	IF m IS NULL OR (m[2] = '' AND coalesce(m[3], '') = '') THEN
		RETURN NULL;
	END IF;
	IF m[4] IS NULL AND length(t) <= 300 THEN
		n := t::numeric;
	ELSE
		-- Normalise to 0.DIGITS x 10^e so that no cast can overflow.
		digs := m[2] || coalesce(m[3], '');
		lead := length(digs) - length(ltrim(digs, '0'));
		digs := rtrim(ltrim(digs, '0'), '0');
		IF digs = '' THEN
			RETURN 0;
		END IF;
		e := coalesce(m[4], '0')::numeric + length(m[2]) - lead;
		IF e > 310 THEN
			RETURN NULL;
		ELSIF e < -330 THEN
			RETURN 0;
		END IF;
		n := (m[1] || '0.' || left(digs, 600) || 'e' || e::text)::numeric;
	END IF;
	f := segmatch_f8(n);
	IF f = 'Infinity'::float8 OR f = '-Infinity'::float8 THEN
		RETURN NULL;
	END IF;
	RETURN f;
END
$fn$;

-- segmatch_decimal is segmatch_decimal_slow, inlinable: u is t without
-- its sign. A string of other characters than a number's is not one; a
-- number without an exponent (digits and at most one point) of at most
-- 300 characters is within float64's normal range, cast as it is; the
-- rest (exponents, long strings, near misses) is segmatch_decimal_slow's.
-- No regular expression: PostgreSQL's take microseconds each.
CREATE OR REPLACE FUNCTION segmatch_decimal_u(t text, u text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN u = '' OR ltrim(u, '0123456789.eE+-') <> '' THEN NULL
	WHEN ltrim(u, '0123456789.') <> '' OR length(t) > 300 THEN segmatch_decimal_slow(t)
	WHEN u = '.' OR length(u) - length(replace(u, '.', '')) > 1 THEN NULL
	ELSE t::numeric::float8 END
$fn$;

CREATE OR REPLACE FUNCTION segmatch_decimal(t text)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT segmatch_decimal_u(t, CASE WHEN left(t, 1) IN ('+', '-') THEN substr(t, 2) ELSE t END)
$fn$;

-- segmatch_num reads a contact scalar as a number (rule 1): a JSON number,
-- or a string that is a decimal number in its entirety.
CREATE OR REPLACE FUNCTION segmatch_num(e jsonb)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE jsonb_typeof(e)
	WHEN 'number' THEN segmatch_f8(e::numeric)
	WHEN 'string' THEN segmatch_decimal(e #>> '{}') END
$fn$;

-- segmatch_fold maps every character to the smallest character of its
-- Unicode simple-folding orbit (as Go's unicode.SimpleFold enumerates
-- it): ASCII letters by upper() under the C collation (ASCII only), the
-- rest by a translation table generated from Go's Unicode tables.
CREATE OR REPLACE FUNCTION segmatch_fold(s text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN octet_length(s) = char_length(s) THEN upper(s COLLATE "C")
	ELSE translate(upper(s COLLATE "C"), '@@FOLD_FROM@@', '@@FOLD_TO@@') END
$fn$;

-- segmatch_date_text reads a date string as operators.ParseDate does and
-- returns its instant as exact epoch seconds (nanosecond fraction): the
-- T form (RFC 3339 zones Z or ±hh:mm; a fraction needs a zone; no zone
-- and no fraction is UTC), the SQL form with a space for the T (fraction
-- and zone optional, no zone is UTC; zones Z, ±hh, ±hhmm, ±hh:mm), and
-- YYYY-MM-DD.
--
-- No regular expression (PostgreSQL's take microseconds a call): p is s
-- with every digit written 0, so that each form is a fixed text up to the
-- fraction (r, from 20), whose zone z is what follows the fraction's
-- point and digits. The fields are then at fixed places in s (YYYY-MM-DD,
-- HH:MM:SS at 12) and segmatch_date_fields checks their ranges.
CREATE OR REPLACE FUNCTION segmatch_zone(z text)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN z IN ('', 'Z', 'z') THEN 0
	WHEN substr(z, 2, 2)::int <= 23 AND (length(z) = 3 OR right(z, 2)::int <= 59) THEN
		CASE WHEN left(z, 1) = '-' THEN -1 ELSE 1 END
		* (substr(z, 2, 2)::int * 3600 + CASE WHEN length(z) = 3 THEN 0 ELSE right(z, 2)::int END * 60)
	END
$fn$;

-- segmatch_date_fields: the instant as exact epoch seconds, NULL when a
-- field is out of range (off, the zone's seconds, NULL when invalid).
-- Days come from PostgreSQL's proleptic Gregorian date, 400 years (146097
-- days exactly) later, as it has no year 0.
CREATE OR REPLACE FUNCTION segmatch_date_fields(y int, mo int, d int, h int, mi int, se int, off int, frac numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN mo BETWEEN 1 AND 12 AND h <= 23 AND mi <= 59 AND se <= 59 AND d BETWEEN 1 AND CASE
		WHEN mo = 2 THEN CASE WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 ELSE 28 END
		WHEN mo IN (4, 6, 9, 11) THEN 30
		ELSE 31 END
	THEN (make_date(y + 400, mo, d) - DATE '1970-01-01' - 146097)::numeric * 86400
		+ (h * 3600 + mi * 60 + se - off) + frac
	END
$fn$;

CREATE OR REPLACE FUNCTION segmatch_date_text(s text)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
	p text := translate(s, '123456789', '000000000');
	r text;
	z text;
	fr text;
BEGIN
	IF length(p) = 10 THEN
		IF p <> '0000-00-00' THEN
			RETURN NULL;
		END IF;
		RETURN segmatch_date_fields(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int, 0, 0, 0, 0, 0);
	END IF;
	r := substr(p, 20);
	z := ltrim(r, '.0');
	fr := left(r, length(r) - length(z));
	IF fr <> '' AND (left(fr, 1) <> '.' OR length(fr) < 2 OR strpos(substr(fr, 2), '.') > 0) THEN
		RETURN NULL;
	END IF;
	IF left(p, 19) IN ('0000-00-00T00:00:00', '0000-00-00t00:00:00') THEN
		IF NOT (z IN ('Z', 'z', '+00:00', '-00:00') OR z = '' AND fr = '') THEN
			RETURN NULL; -- the T form: zones Z or ±hh:mm, and a fraction needs one
		END IF;
	ELSIF left(p, 19) <> '0000-00-00 00:00:00' OR z NOT IN ('', 'Z', 'z', '+00', '-00', '+0000', '-0000', '+00:00', '-00:00') THEN
		RETURN NULL;
	END IF;
	RETURN segmatch_date_fields(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int,
		substr(s, 12, 2)::int, substr(s, 15, 2)::int, substr(s, 18, 2)::int,
		segmatch_zone(substr(s, length(s) - length(z) + 1)),
		CASE WHEN fr = '' THEN 0 ELSE ('0.' || left(substr(s, 21, length(fr) - 1), 9))::numeric END);
END
$fn$;

-- segmatch_date_ms: epoch milliseconds beyond 9e15 in magnitude are
-- beyond 8.64e15 as float8 too; below 1e-200 Go comes to 0 (floor(ms/1000)
-- and the nanoseconds); the rest is cast, in float64's normal range.
CREATE OR REPLACE FUNCTION segmatch_ms(ms float8)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE WHEN abs(ms) <= 8.64e15::float8 THEN
	floor(ms / 1000::float8)::numeric
	+ trunc((ms - floor(ms / 1000::float8) * 1000::float8) * 1e6::float8)::numeric / 1000000000
	END
$fn$;

CREATE OR REPLACE FUNCTION segmatch_date_ms(n numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN n > 9e15 OR n < -9e15 THEN NULL
	WHEN abs(n) < 1e-200 THEN 0
	ELSE segmatch_ms(n::float8) END
$fn$;

CREATE OR REPLACE FUNCTION segmatch_date(e jsonb)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE jsonb_typeof(e)
	WHEN 'string' THEN segmatch_date_text(e #>> '{}')
	WHEN 'number' THEN segmatch_date_ms(e::numeric) END
$fn$;

-- segmatch_semver_key maps a SemVer 2.0.0 string (operators.ParseSemver:
-- "2" and "2.0" are "2.0.0", "2-rc" and "2.0-rc" are "2.0.0-rc", no
-- leading "v", build metadata ignored) to a
-- text whose byte order (COLLATE "C") is SemVer precedence; NULL when the
-- string is not SemVer. Numbers are length-prefixed; a release sorts after
-- every prerelease of its version; numeric identifiers sort before
-- alphanumeric ones; fewer identifiers sort first.
CREATE OR REPLACE FUNCTION segmatch_semver_key(s text)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
	m text[];
	k text;
	id text;
BEGIN
	m := regexp_match(s, '^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?)?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$');
	IF m IS NULL THEN
		RETURN NULL;
	END IF;
	k := lpad(length(m[1])::text, 10, '0') || m[1]
		|| lpad(length(coalesce(m[2], '0'))::text, 10, '0') || coalesce(m[2], '0')
		|| lpad(length(coalesce(m[3], '0'))::text, 10, '0') || coalesce(m[3], '0');
	IF m[4] IS NULL THEN
		RETURN k || chr(3);
	END IF;
	k := k || chr(2);
	FOREACH id IN ARRAY string_to_array(m[4], '.') LOOP
		IF id ~ '^[0-9]+$' THEN
			IF length(id) > 1 AND left(id, 1) = '0' THEN
				RETURN NULL;
			END IF;
			k := k || chr(2) || lpad(length(id)::text, 10, '0') || id;
		ELSE
			k := k || chr(3) || id || chr(1);
		END IF;
	END LOOP;
	RETURN k || chr(1);
END
$fn$;

-- segmatch_inet reads an IP address as Go's netip.ParseAddr does (strict
-- dotted IPv4 without leading zeros; IPv6 with at most one "::" that
-- stands for at least one group, an optional trailing dotted IPv4; no
-- zone, as a zoned address never matches a prefix) and unmaps an
-- IPv4-mapped IPv6 address. NULL when it is not an address.
CREATE OR REPLACE FUNCTION segmatch_inet(s text)
RETURNS inet LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
	v4 constant text := '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}';
	halves text[];
	groups int := 0;
	part text;
	g text[];
	j int;
	a inet;
BEGIN
	IF s ~ ('^' || v4 || '$') THEN
		RETURN s::inet;
	END IF;
	IF s !~ '^[0-9A-Fa-f:.]+$' OR length(s) > 45 THEN
		RETURN NULL;
	END IF;
	halves := string_to_array(s, '::');
	IF array_length(halves, 1) > 2 THEN
		RETURN NULL;
	END IF;
	FOR j IN 1 .. array_length(halves, 1) LOOP
		part := halves[j];
		IF part = '' THEN
			CONTINUE;
		END IF;
		g := string_to_array(part, ':');
		FOR i IN 1 .. array_length(g, 1) LOOP
			IF g[i] ~ '^[0-9A-Fa-f]{1,4}$' THEN
				groups := groups + 1;
			ELSIF j = array_length(halves, 1) AND i = array_length(g, 1) AND g[i] ~ ('^' || v4 || '$') THEN
				groups := groups + 2;
			ELSE
				RETURN NULL;
			END IF;
		END LOOP;
	END LOOP;
	IF array_length(halves, 1) = 1 AND groups <> 8 OR array_length(halves, 1) = 2 AND groups > 7 THEN
		RETURN NULL;
	END IF;
	a := s::inet;
	IF a <<= '::ffff:0.0.0.0/96'::inet THEN
		a := '0.0.0.0'::inet + (a - '::ffff:0.0.0.0'::inet);
	END IF;
	RETURN a;
END
$fn$;
