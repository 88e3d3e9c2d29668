// Package load parses the bulk-load formats of idgraph — its own NDJSON
// event shape, Segment-spec calls, GA4 BigQuery export rows, and CSV — into
// neutral Records, and provides the progress and summary reporting of
// `idgraph load`.
//
// The package does not touch the engine: it reads, and reports where and why
// a line could not be read. Identifiers are passed on as given ("type:value");
// the engine normalises, validates and drops blocked values with the same
// rules as for the TRACK and MERGE statements.
//
// # Reading
//
// [Open] or [NewReader] return a [Reader]; [Reader.Next] returns one
// [Record] per input line (CSV row) and io.EOF at the end. A line that cannot
// be parsed gives a [*LineError] ("FILE:LINE: reason") and the next call
// carries on with the following line, so one bad line never stops a load.
// Input that starts with the gzip magic bytes is decompressed whatever its
// name. Blank lines are skipped.
//
// Options.Format, or a name ending in .csv or .csv.gz, selects CSV. Anything
// else is NDJSON, decided per line unless Options.Format names one shape: a
// line whose "type" is identify, track, page, screen, alias or group is a
// Segment-spec call; a line with "event_name" and "user_pseudo_id" or
// "event_timestamp", and neither "type" nor "ids", is a GA4 export row; any
// other line is idgraph's own shape. Our shape has no "type" and no
// "event_name" field, so the shapes cannot be confused; a Segment call that
// carries only an email is still read as one.
//
// # idgraph's own NDJSON shape
//
//	{"event":"purchase","ids":["email:a@b.c","cookie:123"],"time":"2026-11-01T10:00:00Z","source":"web","props":{"sku":"A1"},"traits":{"name":"Ann"},"consent":{"email":"grant"}}
//
//	| field   | type                                   | required       | meaning                                                                |
//	|---------|----------------------------------------|----------------|------------------------------------------------------------------------|
//	| ids     | array of strings, "type:value"         | yes, non-empty | identifiers seen together                                              |
//	| event   | non-empty string                       | no             | event name; without it the line links its ids and sets traits/consent |
//	| time    | RFC 3339 string or Unix ms (integer)   | no             | when it happened; default: the time of loading                         |
//	| source  | string                                 | no             | channel (web, app, pos …); default: the loader's                       |
//	| props   | object                                 | no             | event properties, kept as compact JSON                                 |
//	| traits  | object of strings, numbers, booleans   | no             | profile traits; numbers keep their literal text                        |
//	| consent | object of "grant" / "deny"             | no             | decision per purpose (case-insensitive)                                |
//
// A field set to null counts as absent, and a null trait is not set. Any
// other top-level field is rejected with `unknown field "evnt"`, so that a
// typo cannot drop data silently. Reasons are short sentences: `not valid
// JSON: ...`, `no identifiers`, `bad time "x": use RFC 3339 or Unix
// milliseconds`, `"ids" must be an array of strings`.
//
// # Segment-spec calls
//
// Segment and RudderStack exports map as follows.
//
//	| Segment field                                             | becomes                                                       |
//	|-----------------------------------------------------------|---------------------------------------------------------------|
//	| userId (string or number)                                 | user:<userId>                                                 |
//	| anonymousId                                               | cookie:<anonymousId>                                          |
//	| traits.email (identify only), else context.traits.email   | email:<email>                                                 |
//	| traits.phone (identify only), else context.traits.phone   | phone:<phone>                                                 |
//	| context.device.id                                         | device:<id>                                                   |
//	| context.device.token                                      | push:<token>                                                  |
//	| context.device.advertisingId                              | idfa:<id> on iOS, aaid:<id> on Android (context.os.name, else |
//	|                                                           | context.device.type, case-insensitive); dropped on any other  |
//	|                                                           | platform or when context.device.adTrackingEnabled is false    |
//	| previousId (alias only)                                   | cookie:<previousId>                                           |
//	| timestamp, else originalTimestamp, else receivedAt        | Time (RFC 3339; "+0000" offsets and Unix ms accepted)         |
//	| —                                                         | Source "segment"                                              |
//	| context.consent.categoryPreferences (object of booleans)  | Consent (non-booleans ignored)                                |
//	| messageId (string or number)                              | MessageID: applied once within the engine's de-dup window     |
//
//	| call     | Event            | Props                                             | Traits                                    |
//	|----------|------------------|---------------------------------------------------|-------------------------------------------|
//	| track    | event (required) | properties                                        | —                                         |
//	| page     | "page"           | properties + name and category if they lack them  | —                                         |
//	| screen   | "screen"         | properties + name if they lack it                 | —                                         |
//	| identify | none             | —                                                 | context.traits merged with traits (traits |
//	|          |                  |                                                   | wins); nested values become JSON text     |
//	| alias    | none             | —                                                 | —                                         |
//	| group    | "group"          | {"groupId": groupId (required), "traits": traits} | — (those traits describe the group)       |
//
// previousId maps to a cookie because Segment's common alias is an anonymous
// visitor becoming known; renaming one userId into another could not merge
// anyway, since a profile holds one user identifier. The source is
// "segment" because Segment's channel and library fields describe the SDK,
// not the customer's channel. Empty ("" or null) values are skipped; other
// blocked values, such as a zeroed advertising id, are left to the engine,
// which drops and reports them. A call with no identifier is rejected, and
// fields not listed are ignored. MAPPING.md holds the same tables for the
// README.
//
// # GA4 BigQuery export
//
// Rows of GA4's daily export (events_YYYYMMDD), extracted with bq extract
// --destination_format NEWLINE_DELIMITED_JSON, map as follows.
//
//	| GA4 export field                                   | becomes                                                         |
//	|----------------------------------------------------|-----------------------------------------------------------------|
//	| user_pseudo_id                                     | cookie:<id> on platform WEB (or missing, or other),             |
//	|                                                    | app:<id> on IOS and ANDROID                                     |
//	| user_id (string or number)                         | user:<id>                                                       |
//	| device.advertising_id                              | idfa:<id> on IOS, aaid:<id> on ANDROID; dropped elsewhere and   |
//	|                                                    | when device.is_limited_ad_tracking is "Yes" or true             |
//	| event_name (required)                              | Event                                                           |
//	| event_timestamp (required; µs, string or number)   | Time (the engine keeps milliseconds)                            |
//	| event_params [{key, value{string_value|int_value|  | Props, one key each: the first non-null value, typed; string    |
//	|   float_value|double_value}}]                      | int_value becomes a JSON number                                 |
//	| ecommerce, items                                   | Props "ecommerce" and "items": null members left out, INT64     |
//	|                                                    | counts (total_item_quantity, unique_items, quantity) as numbers |
//	| user_properties (+ set_timestamp_micros)           | Traits, those set no later than the event                       |
//	| privacy_info.analytics_storage / ads_storage       | Consent "analytics" / "ads": Yes grants, No denies              |
//	| platform                                           | Source "web" or "app", unless GA4Options.Source is set          |
//
// "", null and GA4's "(not set)" are no identifiers; other blocked values
// (a zeroed advertising id) are left to the engine. A row with no
// identifier is rejected. MAPPING.md gives the reasons for each choice.
//
// # CSV
//
// CSV needs a header line and at least one [IDColumn] (the --id type=column
// flag, see [ParseIDColumn]); [CSVOptions] names the event and time columns.
// The remaining columns become the event's props (a JSON object of strings,
// empty cells omitted), or, when rows carry no event, the profile's traits.
// A row with the wrong number of fields, a bad time, broken quoting, or no
// non-empty identifier is a LineError; Line counts the header as line 1.
//
// # Reporting
//
// [Summary] counts a load and prints the closing report; [Progress] shows a
// bar of bytes read on a terminal and a plain line every few seconds
// otherwise, with an injectable writer and clock.
package load
