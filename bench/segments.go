package bench

// AbandonedCart is the segment the goals quote: customers who put something
// in the cart in the last seven days, did not buy, and may be emailed.
// [AbandonedCartSQL] is the same question asked of PostgreSQL.
const AbandonedCart = "DID add_to_cart WITHIN 7d AND NOT DID purchase WITHIN 7d AND HAS email AND CONSENT email"

// PhonesOver500 is the property-filtered segment the goals quote: bought a
// phone for more than 500 in the last 90 days. [PhonesOver500SQL] is the
// same question asked of PostgreSQL.
const PhonesOver500 = "DID purchase WHERE category = phones AND amount > 500 WITHIN 90d"

// Computed are the five computed traits the benchmark defines to measure
// WHO and ingest with computed traits, and the backfill of a definition.
var Computed = []string{
	"COMPUTE ltv AS SUM amount OF purchase",
	"COMPUTE orders_90d AS COUNT purchase WITHIN 90d",
	"COMPUTE last_sku AS LAST sku OF purchase",
	"COMPUTE engagement AS SCORE 1 product_view + 5 add_to_cart + 20 purchase WITHIN 30d",
	"COMPUTE phones_spend AS SUM amount OF purchase WHERE category = phones WITHIN 365d",
}

// Segment is a named segment expression of the benchmark.
type Segment struct {
	Name string
	Expr string
}

// Segments are the segment expressions the benchmark times: questions a
// shop asks of its customer base, over the events the generator writes
// (sources web, app, pos and crm). Evaluate them ASOF the last generated
// day, so that their windows hit data.
var Segments = []Segment{
	{"abandoned-cart", AbandonedCart},
	{"repeat-buyers", "DID purchase >= 2 TIMES WITHIN 90d"},
	{"lapsed-app-users", "HAS push AND NOT DID app_open WITHIN 30d"},
	{"store-not-app", "DID purchase FROM pos WITHIN 90d AND NOT DID app_open"},
	{"gold-emailable", "(TRAIT tier = gold OR TRAIT tier = platinum) AND CONSENT email"},
	{"browsers-not-buyers", "DID product_view >= 3 TIMES WITHIN 30d AND NOT DID purchase WITHIN 90d"},
	{"service-no-purchase", "DID service_visit WITHIN 30d AND NOT DID purchase WITHIN 30d AND HAS phone"},
	{"phones-over-500", PhonesOver500},
	{"high-ltv-engaged", "TRAIT ltv > 1000 AND TRAIT engagement >= 50"},
}
