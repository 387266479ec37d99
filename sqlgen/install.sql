-- segmatch helper functions for SQL pushdown (sqlgen). Every function is
-- IMMUTABLE, never raises on any input (each cast is gated), and returns
-- NULL for "not this type"; except two internal pieces of the others,
-- segmatch_decimal_u and segmatch_date_z, which are only given what their
-- caller has checked (a number's text and its unsigned part; a string
-- whose date and time of day are valid and whose zone's sign is placed).
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
-- No regular expression and no translate() (each takes microseconds a
-- call, and these run for every date near a condition's bounds): the
-- fields are at fixed places in s (YYYY-MM-DD, HH:MM:SS at 12), checked
-- by lookups (segmatch_date_parse, segmatch_date_z).

-- segmatch_date_z: s is YYYY-MM-DD?HH:MM:SS (checked), then an optional
-- fraction (a point and at least one digit), then a zone of zl characters
-- whose sign is in place. The T form takes zones Z and ±hh:mm, or none
-- without a fraction; the SQL form (a space) every zone, and none.
CREATE OR REPLACE FUNCTION segmatch_date_z(s text, zl int)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN substr(s, 11, 1) <> ' ' AND NOT (zl IN (1, 6) OR zl = 0 AND length(s) = 19) THEN NULL
	WHEN zl >= 3 AND NOT (substr(s, length(s) - zl + 2, 2) = ANY ('{00,01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23}'::text[])
		AND (zl = 3 OR right(s, 2) = ANY ('{00,01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59}'::text[]))) THEN NULL
	WHEN length(s) - zl = 19 OR length(s) - zl >= 21 AND substr(s, 20, 1) = '.'
		AND ltrim(substr(s, 21, greatest(length(s) - (zl + 20), 0)), '0123456789') = '' THEN
		((make_date(substr(s, 1, 4)::int + 400, substr(s, 6, 2)::int, substr(s, 9, 2)::int) - DATE '1970-01-01' - 146097)::int8 * 86400
			+ substr(s, 12, 2)::int * 3600 + substr(s, 15, 2)::int * 60 + substr(s, 18, 2)::int
			- CASE WHEN zl < 3 THEN 0 ELSE CASE WHEN substr(s, length(s) - zl + 1, 1) = '-' THEN -60 ELSE 60 END
				* (substr(s, length(s) - zl + 2, 2)::int * 60 + CASE WHEN zl = 3 THEN 0 ELSE right(s, 2)::int END) END)::numeric
		+ CASE WHEN length(s) - zl = 19 THEN 0 ELSE ('0.' || substr(s, 21, greatest(least(length(s) - (zl + 20), 9), 0)))::numeric END
	END
$fn$;

-- segmatch_date_parse: LIKE checks the separators; each field is looked
-- up in the list of its values (a hashed lookup: digits and range at
-- once; the month and day together, February 29 then only in leap years;
-- the hour and minute together); the zone is told by where its
-- sign stands from the end (its forms put it where no other form's tail
-- has one), so that segmatch_date_z is given its length as a constant.
-- Days come from PostgreSQL's proleptic Gregorian date, 400 years (146097
-- days exactly) later, as it has no year 0.
CREATE OR REPLACE FUNCTION segmatch_date_parse(s text)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
	WHEN NOT (s LIKE '____-__-__%'
		AND substr(s, 1, 2) = ANY ('{00,01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99}'::text[]) AND substr(s, 3, 2) = ANY ('{00,01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99}'::text[])
		AND substr(s, 6, 5) = ANY ('{01-01,01-02,01-03,01-04,01-05,01-06,01-07,01-08,01-09,01-10,01-11,01-12,01-13,01-14,01-15,01-16,01-17,01-18,01-19,01-20,01-21,01-22,01-23,01-24,01-25,01-26,01-27,01-28,01-29,01-30,01-31,02-01,02-02,02-03,02-04,02-05,02-06,02-07,02-08,02-09,02-10,02-11,02-12,02-13,02-14,02-15,02-16,02-17,02-18,02-19,02-20,02-21,02-22,02-23,02-24,02-25,02-26,02-27,02-28,02-29,03-01,03-02,03-03,03-04,03-05,03-06,03-07,03-08,03-09,03-10,03-11,03-12,03-13,03-14,03-15,03-16,03-17,03-18,03-19,03-20,03-21,03-22,03-23,03-24,03-25,03-26,03-27,03-28,03-29,03-30,03-31,04-01,04-02,04-03,04-04,04-05,04-06,04-07,04-08,04-09,04-10,04-11,04-12,04-13,04-14,04-15,04-16,04-17,04-18,04-19,04-20,04-21,04-22,04-23,04-24,04-25,04-26,04-27,04-28,04-29,04-30,05-01,05-02,05-03,05-04,05-05,05-06,05-07,05-08,05-09,05-10,05-11,05-12,05-13,05-14,05-15,05-16,05-17,05-18,05-19,05-20,05-21,05-22,05-23,05-24,05-25,05-26,05-27,05-28,05-29,05-30,05-31,06-01,06-02,06-03,06-04,06-05,06-06,06-07,06-08,06-09,06-10,06-11,06-12,06-13,06-14,06-15,06-16,06-17,06-18,06-19,06-20,06-21,06-22,06-23,06-24,06-25,06-26,06-27,06-28,06-29,06-30,07-01,07-02,07-03,07-04,07-05,07-06,07-07,07-08,07-09,07-10,07-11,07-12,07-13,07-14,07-15,07-16,07-17,07-18,07-19,07-20,07-21,07-22,07-23,07-24,07-25,07-26,07-27,07-28,07-29,07-30,07-31,08-01,08-02,08-03,08-04,08-05,08-06,08-07,08-08,08-09,08-10,08-11,08-12,08-13,08-14,08-15,08-16,08-17,08-18,08-19,08-20,08-21,08-22,08-23,08-24,08-25,08-26,08-27,08-28,08-29,08-30,08-31,09-01,09-02,09-03,09-04,09-05,09-06,09-07,09-08,09-09,09-10,09-11,09-12,09-13,09-14,09-15,09-16,09-17,09-18,09-19,09-20,09-21,09-22,09-23,09-24,09-25,09-26,09-27,09-28,09-29,09-30,10-01,10-02,10-03,10-04,10-05,10-06,10-07,10-08,10-09,10-10,10-11,10-12,10-13,10-14,10-15,10-16,10-17,10-18,10-19,10-20,10-21,10-22,10-23,10-24,10-25,10-26,10-27,10-28,10-29,10-30,10-31,11-01,11-02,11-03,11-04,11-05,11-06,11-07,11-08,11-09,11-10,11-11,11-12,11-13,11-14,11-15,11-16,11-17,11-18,11-19,11-20,11-21,11-22,11-23,11-24,11-25,11-26,11-27,11-28,11-29,11-30,12-01,12-02,12-03,12-04,12-05,12-06,12-07,12-08,12-09,12-10,12-11,12-12,12-13,12-14,12-15,12-16,12-17,12-18,12-19,12-20,12-21,12-22,12-23,12-24,12-25,12-26,12-27,12-28,12-29,12-30,12-31}'::text[])) THEN NULL
	WHEN substr(s, 6, 5) = '02-29' AND NOT (substr(s, 1, 4)::int % 4 = 0
		AND (substr(s, 1, 4)::int % 100 <> 0 OR substr(s, 1, 4)::int % 400 = 0)) THEN NULL
	WHEN length(s) = 10 THEN
		((make_date(substr(s, 1, 4)::int + 400, substr(s, 6, 2)::int, substr(s, 9, 2)::int) - DATE '1970-01-01' - 146097)::int8 * 86400)::numeric
	WHEN NOT (s LIKE '____-__-_____:__:__%' AND substr(s, 11, 1) IN ('T', 't', ' ')
		AND substr(s, 12, 5) = ANY ('{00:00,00:01,00:02,00:03,00:04,00:05,00:06,00:07,00:08,00:09,00:10,00:11,00:12,00:13,00:14,00:15,00:16,00:17,00:18,00:19,00:20,00:21,00:22,00:23,00:24,00:25,00:26,00:27,00:28,00:29,00:30,00:31,00:32,00:33,00:34,00:35,00:36,00:37,00:38,00:39,00:40,00:41,00:42,00:43,00:44,00:45,00:46,00:47,00:48,00:49,00:50,00:51,00:52,00:53,00:54,00:55,00:56,00:57,00:58,00:59,01:00,01:01,01:02,01:03,01:04,01:05,01:06,01:07,01:08,01:09,01:10,01:11,01:12,01:13,01:14,01:15,01:16,01:17,01:18,01:19,01:20,01:21,01:22,01:23,01:24,01:25,01:26,01:27,01:28,01:29,01:30,01:31,01:32,01:33,01:34,01:35,01:36,01:37,01:38,01:39,01:40,01:41,01:42,01:43,01:44,01:45,01:46,01:47,01:48,01:49,01:50,01:51,01:52,01:53,01:54,01:55,01:56,01:57,01:58,01:59,02:00,02:01,02:02,02:03,02:04,02:05,02:06,02:07,02:08,02:09,02:10,02:11,02:12,02:13,02:14,02:15,02:16,02:17,02:18,02:19,02:20,02:21,02:22,02:23,02:24,02:25,02:26,02:27,02:28,02:29,02:30,02:31,02:32,02:33,02:34,02:35,02:36,02:37,02:38,02:39,02:40,02:41,02:42,02:43,02:44,02:45,02:46,02:47,02:48,02:49,02:50,02:51,02:52,02:53,02:54,02:55,02:56,02:57,02:58,02:59,03:00,03:01,03:02,03:03,03:04,03:05,03:06,03:07,03:08,03:09,03:10,03:11,03:12,03:13,03:14,03:15,03:16,03:17,03:18,03:19,03:20,03:21,03:22,03:23,03:24,03:25,03:26,03:27,03:28,03:29,03:30,03:31,03:32,03:33,03:34,03:35,03:36,03:37,03:38,03:39,03:40,03:41,03:42,03:43,03:44,03:45,03:46,03:47,03:48,03:49,03:50,03:51,03:52,03:53,03:54,03:55,03:56,03:57,03:58,03:59,04:00,04:01,04:02,04:03,04:04,04:05,04:06,04:07,04:08,04:09,04:10,04:11,04:12,04:13,04:14,04:15,04:16,04:17,04:18,04:19,04:20,04:21,04:22,04:23,04:24,04:25,04:26,04:27,04:28,04:29,04:30,04:31,04:32,04:33,04:34,04:35,04:36,04:37,04:38,04:39,04:40,04:41,04:42,04:43,04:44,04:45,04:46,04:47,04:48,04:49,04:50,04:51,04:52,04:53,04:54,04:55,04:56,04:57,04:58,04:59,05:00,05:01,05:02,05:03,05:04,05:05,05:06,05:07,05:08,05:09,05:10,05:11,05:12,05:13,05:14,05:15,05:16,05:17,05:18,05:19,05:20,05:21,05:22,05:23,05:24,05:25,05:26,05:27,05:28,05:29,05:30,05:31,05:32,05:33,05:34,05:35,05:36,05:37,05:38,05:39,05:40,05:41,05:42,05:43,05:44,05:45,05:46,05:47,05:48,05:49,05:50,05:51,05:52,05:53,05:54,05:55,05:56,05:57,05:58,05:59,06:00,06:01,06:02,06:03,06:04,06:05,06:06,06:07,06:08,06:09,06:10,06:11,06:12,06:13,06:14,06:15,06:16,06:17,06:18,06:19,06:20,06:21,06:22,06:23,06:24,06:25,06:26,06:27,06:28,06:29,06:30,06:31,06:32,06:33,06:34,06:35,06:36,06:37,06:38,06:39,06:40,06:41,06:42,06:43,06:44,06:45,06:46,06:47,06:48,06:49,06:50,06:51,06:52,06:53,06:54,06:55,06:56,06:57,06:58,06:59,07:00,07:01,07:02,07:03,07:04,07:05,07:06,07:07,07:08,07:09,07:10,07:11,07:12,07:13,07:14,07:15,07:16,07:17,07:18,07:19,07:20,07:21,07:22,07:23,07:24,07:25,07:26,07:27,07:28,07:29,07:30,07:31,07:32,07:33,07:34,07:35,07:36,07:37,07:38,07:39,07:40,07:41,07:42,07:43,07:44,07:45,07:46,07:47,07:48,07:49,07:50,07:51,07:52,07:53,07:54,07:55,07:56,07:57,07:58,07:59,08:00,08:01,08:02,08:03,08:04,08:05,08:06,08:07,08:08,08:09,08:10,08:11,08:12,08:13,08:14,08:15,08:16,08:17,08:18,08:19,08:20,08:21,08:22,08:23,08:24,08:25,08:26,08:27,08:28,08:29,08:30,08:31,08:32,08:33,08:34,08:35,08:36,08:37,08:38,08:39,08:40,08:41,08:42,08:43,08:44,08:45,08:46,08:47,08:48,08:49,08:50,08:51,08:52,08:53,08:54,08:55,08:56,08:57,08:58,08:59,09:00,09:01,09:02,09:03,09:04,09:05,09:06,09:07,09:08,09:09,09:10,09:11,09:12,09:13,09:14,09:15,09:16,09:17,09:18,09:19,09:20,09:21,09:22,09:23,09:24,09:25,09:26,09:27,09:28,09:29,09:30,09:31,09:32,09:33,09:34,09:35,09:36,09:37,09:38,09:39,09:40,09:41,09:42,09:43,09:44,09:45,09:46,09:47,09:48,09:49,09:50,09:51,09:52,09:53,09:54,09:55,09:56,09:57,09:58,09:59,10:00,10:01,10:02,10:03,10:04,10:05,10:06,10:07,10:08,10:09,10:10,10:11,10:12,10:13,10:14,10:15,10:16,10:17,10:18,10:19,10:20,10:21,10:22,10:23,10:24,10:25,10:26,10:27,10:28,10:29,10:30,10:31,10:32,10:33,10:34,10:35,10:36,10:37,10:38,10:39,10:40,10:41,10:42,10:43,10:44,10:45,10:46,10:47,10:48,10:49,10:50,10:51,10:52,10:53,10:54,10:55,10:56,10:57,10:58,10:59,11:00,11:01,11:02,11:03,11:04,11:05,11:06,11:07,11:08,11:09,11:10,11:11,11:12,11:13,11:14,11:15,11:16,11:17,11:18,11:19,11:20,11:21,11:22,11:23,11:24,11:25,11:26,11:27,11:28,11:29,11:30,11:31,11:32,11:33,11:34,11:35,11:36,11:37,11:38,11:39,11:40,11:41,11:42,11:43,11:44,11:45,11:46,11:47,11:48,11:49,11:50,11:51,11:52,11:53,11:54,11:55,11:56,11:57,11:58,11:59,12:00,12:01,12:02,12:03,12:04,12:05,12:06,12:07,12:08,12:09,12:10,12:11,12:12,12:13,12:14,12:15,12:16,12:17,12:18,12:19,12:20,12:21,12:22,12:23,12:24,12:25,12:26,12:27,12:28,12:29,12:30,12:31,12:32,12:33,12:34,12:35,12:36,12:37,12:38,12:39,12:40,12:41,12:42,12:43,12:44,12:45,12:46,12:47,12:48,12:49,12:50,12:51,12:52,12:53,12:54,12:55,12:56,12:57,12:58,12:59,13:00,13:01,13:02,13:03,13:04,13:05,13:06,13:07,13:08,13:09,13:10,13:11,13:12,13:13,13:14,13:15,13:16,13:17,13:18,13:19,13:20,13:21,13:22,13:23,13:24,13:25,13:26,13:27,13:28,13:29,13:30,13:31,13:32,13:33,13:34,13:35,13:36,13:37,13:38,13:39,13:40,13:41,13:42,13:43,13:44,13:45,13:46,13:47,13:48,13:49,13:50,13:51,13:52,13:53,13:54,13:55,13:56,13:57,13:58,13:59,14:00,14:01,14:02,14:03,14:04,14:05,14:06,14:07,14:08,14:09,14:10,14:11,14:12,14:13,14:14,14:15,14:16,14:17,14:18,14:19,14:20,14:21,14:22,14:23,14:24,14:25,14:26,14:27,14:28,14:29,14:30,14:31,14:32,14:33,14:34,14:35,14:36,14:37,14:38,14:39,14:40,14:41,14:42,14:43,14:44,14:45,14:46,14:47,14:48,14:49,14:50,14:51,14:52,14:53,14:54,14:55,14:56,14:57,14:58,14:59,15:00,15:01,15:02,15:03,15:04,15:05,15:06,15:07,15:08,15:09,15:10,15:11,15:12,15:13,15:14,15:15,15:16,15:17,15:18,15:19,15:20,15:21,15:22,15:23,15:24,15:25,15:26,15:27,15:28,15:29,15:30,15:31,15:32,15:33,15:34,15:35,15:36,15:37,15:38,15:39,15:40,15:41,15:42,15:43,15:44,15:45,15:46,15:47,15:48,15:49,15:50,15:51,15:52,15:53,15:54,15:55,15:56,15:57,15:58,15:59,16:00,16:01,16:02,16:03,16:04,16:05,16:06,16:07,16:08,16:09,16:10,16:11,16:12,16:13,16:14,16:15,16:16,16:17,16:18,16:19,16:20,16:21,16:22,16:23,16:24,16:25,16:26,16:27,16:28,16:29,16:30,16:31,16:32,16:33,16:34,16:35,16:36,16:37,16:38,16:39,16:40,16:41,16:42,16:43,16:44,16:45,16:46,16:47,16:48,16:49,16:50,16:51,16:52,16:53,16:54,16:55,16:56,16:57,16:58,16:59,17:00,17:01,17:02,17:03,17:04,17:05,17:06,17:07,17:08,17:09,17:10,17:11,17:12,17:13,17:14,17:15,17:16,17:17,17:18,17:19,17:20,17:21,17:22,17:23,17:24,17:25,17:26,17:27,17:28,17:29,17:30,17:31,17:32,17:33,17:34,17:35,17:36,17:37,17:38,17:39,17:40,17:41,17:42,17:43,17:44,17:45,17:46,17:47,17:48,17:49,17:50,17:51,17:52,17:53,17:54,17:55,17:56,17:57,17:58,17:59,18:00,18:01,18:02,18:03,18:04,18:05,18:06,18:07,18:08,18:09,18:10,18:11,18:12,18:13,18:14,18:15,18:16,18:17,18:18,18:19,18:20,18:21,18:22,18:23,18:24,18:25,18:26,18:27,18:28,18:29,18:30,18:31,18:32,18:33,18:34,18:35,18:36,18:37,18:38,18:39,18:40,18:41,18:42,18:43,18:44,18:45,18:46,18:47,18:48,18:49,18:50,18:51,18:52,18:53,18:54,18:55,18:56,18:57,18:58,18:59,19:00,19:01,19:02,19:03,19:04,19:05,19:06,19:07,19:08,19:09,19:10,19:11,19:12,19:13,19:14,19:15,19:16,19:17,19:18,19:19,19:20,19:21,19:22,19:23,19:24,19:25,19:26,19:27,19:28,19:29,19:30,19:31,19:32,19:33,19:34,19:35,19:36,19:37,19:38,19:39,19:40,19:41,19:42,19:43,19:44,19:45,19:46,19:47,19:48,19:49,19:50,19:51,19:52,19:53,19:54,19:55,19:56,19:57,19:58,19:59,20:00,20:01,20:02,20:03,20:04,20:05,20:06,20:07,20:08,20:09,20:10,20:11,20:12,20:13,20:14,20:15,20:16,20:17,20:18,20:19,20:20,20:21,20:22,20:23,20:24,20:25,20:26,20:27,20:28,20:29,20:30,20:31,20:32,20:33,20:34,20:35,20:36,20:37,20:38,20:39,20:40,20:41,20:42,20:43,20:44,20:45,20:46,20:47,20:48,20:49,20:50,20:51,20:52,20:53,20:54,20:55,20:56,20:57,20:58,20:59,21:00,21:01,21:02,21:03,21:04,21:05,21:06,21:07,21:08,21:09,21:10,21:11,21:12,21:13,21:14,21:15,21:16,21:17,21:18,21:19,21:20,21:21,21:22,21:23,21:24,21:25,21:26,21:27,21:28,21:29,21:30,21:31,21:32,21:33,21:34,21:35,21:36,21:37,21:38,21:39,21:40,21:41,21:42,21:43,21:44,21:45,21:46,21:47,21:48,21:49,21:50,21:51,21:52,21:53,21:54,21:55,21:56,21:57,21:58,21:59,22:00,22:01,22:02,22:03,22:04,22:05,22:06,22:07,22:08,22:09,22:10,22:11,22:12,22:13,22:14,22:15,22:16,22:17,22:18,22:19,22:20,22:21,22:22,22:23,22:24,22:25,22:26,22:27,22:28,22:29,22:30,22:31,22:32,22:33,22:34,22:35,22:36,22:37,22:38,22:39,22:40,22:41,22:42,22:43,22:44,22:45,22:46,22:47,22:48,22:49,22:50,22:51,22:52,22:53,22:54,22:55,22:56,22:57,22:58,22:59,23:00,23:01,23:02,23:03,23:04,23:05,23:06,23:07,23:08,23:09,23:10,23:11,23:12,23:13,23:14,23:15,23:16,23:17,23:18,23:19,23:20,23:21,23:22,23:23,23:24,23:25,23:26,23:27,23:28,23:29,23:30,23:31,23:32,23:33,23:34,23:35,23:36,23:37,23:38,23:39,23:40,23:41,23:42,23:43,23:44,23:45,23:46,23:47,23:48,23:49,23:50,23:51,23:52,23:53,23:54,23:55,23:56,23:57,23:58,23:59}'::text[])
		AND substr(s, 18, 2) = ANY ('{00,01,02,03,04,05,06,07,08,09,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59}'::text[])) THEN NULL
	WHEN right(s, 1) IN ('Z', 'z') THEN segmatch_date_z(s, 1)
	WHEN substr(s, length(s) - 5, 1) IN ('+', '-') AND substr(s, length(s) - 2, 1) = ':' THEN segmatch_date_z(s, 6)
	WHEN substr(s, length(s) - 4, 1) IN ('+', '-') THEN segmatch_date_z(s, 5)
	WHEN substr(s, length(s) - 2, 1) IN ('+', '-') THEN segmatch_date_z(s, 3)
	ELSE segmatch_date_z(s, 0) END
$fn$;

-- segmatch_date_text: segmatch_date_parse, inlined here on a variable
-- (inlined into a clause, each of its many reads of s would extract the
-- string from the row again).
CREATE OR REPLACE FUNCTION segmatch_date_text(s text)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
BEGIN
	RETURN segmatch_date_parse(s);
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

-- segmatch_date_some: some element of v (v itself when not an array) is
-- a date (segmatch_date) from lo to hi (a NULL bound is none; an open one
-- excludes it). A function, not a subquery in the clause: PostgreSQL runs
-- no clause with a correlated subquery in parallel workers.
CREATE OR REPLACE FUNCTION segmatch_date_some(v jsonb, lo numeric, lo_open bool, hi numeric, hi_open bool)
RETURNS bool LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
DECLARE
	e jsonb;
	d numeric;
BEGIN
	IF v IS NULL THEN
		RETURN false;
	END IF;
	IF jsonb_typeof(v) <> 'array' THEN
		v := jsonb_build_array(v);
	END IF;
	FOR e IN SELECT x FROM jsonb_array_elements(v) AS t(x) LOOP
		d := segmatch_date(e);
		IF d IS NOT NULL AND (lo IS NULL OR d > lo OR d = lo AND NOT lo_open)
			AND (hi IS NULL OR d < hi OR d = hi AND NOT hi_open) THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
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
