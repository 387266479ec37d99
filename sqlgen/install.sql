-- segmatch helper functions for SQL pushdown (sqlgen). Every function is
-- IMMUTABLE, never raises on any input (each cast is gated), and returns
-- NULL for "not this type". Installed by sqlgen.Install; re-running it
-- replaces them (CREATE OR REPLACE).

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

-- The helpers are plpgsql: a SQL-language function that the planner does
-- not inline (it will not when an argument is costly) is slow to call.

-- segmatch_f8 converts a numeric to float8 as Go's strconv.ParseFloat
-- (and gjson) would: beyond float64's range is +-Infinity, below half the
-- smallest subnormal is 0. It never raises.
CREATE OR REPLACE FUNCTION segmatch_f8(n numeric)
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

-- segmatch_decimal reads a string as SEMANTICS rule 1 does
-- (operators.ParseDecimal): an optional sign, digits with an optional
-- fraction (or a fraction alone), an optional exponent, nothing else; a
-- value beyond float64's range is not a number. NULL when not a number.
CREATE OR REPLACE FUNCTION segmatch_decimal(t text)
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

-- segmatch_num reads a contact scalar as a number (rule 1): a JSON number,
-- or a string that is a decimal number in its entirety.
CREATE OR REPLACE FUNCTION segmatch_num(e jsonb)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
	CASE jsonb_typeof(e)
	WHEN 'number' THEN
		RETURN segmatch_f8(e::numeric);
	WHEN 'string' THEN
		RETURN segmatch_decimal(e #>> '{}');
	ELSE
		RETURN NULL;
	END CASE;
END
$fn$;

-- segmatch_fold maps every character to the smallest character of its
-- Unicode simple-folding orbit (as Go's unicode.SimpleFold enumerates
-- it): ASCII letters by upper() under the C collation (ASCII only), the
-- rest by a translation table generated from Go's Unicode tables.
CREATE OR REPLACE FUNCTION segmatch_fold(s text)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
	IF octet_length(s) = char_length(s) THEN
		RETURN upper(s COLLATE "C");
	END IF;
	RETURN translate(upper(s COLLATE "C"), '@@FOLD_FROM@@', '@@FOLD_TO@@');
END
$fn$;

-- segmatch_date_text reads a date string as operators.ParseDate does and
-- returns its instant as exact epoch seconds (nanosecond fraction): the
-- T form (RFC 3339 zones Z or ±hh:mm; a fraction needs a zone; no zone
-- and no fraction is UTC), the SQL form with a space for the T (fraction
-- and zone optional, no zone is UTC; zones Z, ±hh, ±hhmm, ±hh:mm), and
-- YYYY-MM-DD.
CREATE OR REPLACE FUNCTION segmatch_date_text(s text)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
	m text[];
	y int; mo int; d int; h int := 0; mi int := 0; se int := 0;
	off int := 0; oh int; om int := 0; dim int;
	frac numeric := 0;
	yy int; era int; yoe int; doy int; doe int;
BEGIN
	m := regexp_match(s, '^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:([Tt ])([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$');
	IF m IS NULL THEN
		RETURN NULL;
	END IF;
	IF m[4] IN ('T', 't') THEN
		IF m[8] IS NOT NULL AND m[9] IS NULL THEN
			RETURN NULL; -- a fraction needs a zone in the T form
		END IF;
		IF m[9] IS NOT NULL AND length(m[9]) NOT IN (1, 6) THEN
			RETURN NULL; -- the T form's zones: Z or ±hh:mm
		END IF;
	END IF;
	y := m[1]::int; mo := m[2]::int; d := m[3]::int;
	IF mo < 1 OR mo > 12 OR d < 1 THEN
		RETURN NULL;
	END IF;
	dim := CASE
		WHEN mo = 2 THEN CASE WHEN y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0) THEN 29 ELSE 28 END
		WHEN mo IN (4, 6, 9, 11) THEN 30
		ELSE 31 END;
	IF d > dim THEN
		RETURN NULL;
	END IF;
	IF m[5] IS NOT NULL THEN
		h := m[5]::int; mi := m[6]::int; se := m[7]::int;
		IF h > 23 OR mi > 59 OR se > 59 THEN
			RETURN NULL;
		END IF;
		IF m[8] IS NOT NULL THEN
			frac := ('0.' || left(m[8], 9))::numeric;
		END IF;
		IF m[9] IS NOT NULL AND length(m[9]) > 1 THEN
			-- ±hh, ±hhmm or ±hh:mm
			oh := substr(m[9], 2, 2)::int;
			IF length(m[9]) > 3 THEN
				om := right(m[9], 2)::int;
			END IF;
			IF oh > 23 OR om > 59 THEN
				RETURN NULL;
			END IF;
			off := oh * 3600 + om * 60;
			IF substr(m[9], 1, 1) = '-' THEN
				off := -off;
			END IF;
		END IF;
	END IF;
	-- days from civil (proleptic Gregorian; year 0 exists, as in Go)
	yy := y - CASE WHEN mo <= 2 THEN 1 ELSE 0 END;
	era := CASE WHEN yy >= 0 THEN yy / 400 ELSE (yy - 399) / 400 END;
	yoe := yy - era * 400;
	doy := (153 * (mo + CASE WHEN mo > 2 THEN -3 ELSE 9 END) + 2) / 5 + d - 1;
	doe := yoe * 365 + yoe / 4 - yoe / 100 + doy;
	RETURN (era::numeric * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + se - off + frac;
END
$fn$;

-- segmatch_date reads a contact scalar as a date (operators.DateOf): a
-- date string, or a number of epoch milliseconds (Go's float arithmetic
-- reproduced in float8). Exact epoch seconds, NULL when not a date.
CREATE OR REPLACE FUNCTION segmatch_date(e jsonb)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
	ms float8;
	sec float8;
	ns float8;
BEGIN
	CASE jsonb_typeof(e)
	WHEN 'string' THEN
		RETURN segmatch_date_text(e #>> '{}');
	WHEN 'number' THEN
		ms := segmatch_f8(e::numeric);
		IF abs(ms) > 8.64e15 THEN
			RETURN NULL;
		ELSIF abs(ms) < 1e-200 THEN
			RETURN 0; -- Go: floor(ms/1000) and the nanoseconds both come to 0
		END IF;
		sec := floor(ms / 1000::float8);
		ns := (ms - sec * 1000::float8) * 1e6::float8;
		RETURN sec::numeric + trunc(ns)::numeric / 1000000000;
	ELSE
		RETURN NULL;
	END CASE;
END
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
