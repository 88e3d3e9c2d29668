package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The GA4 load benchmark writes a GA4-shaped export and the same events in
// our own NDJSON shape, for `idgraph load` to be timed on both:
//
//	IDGRAPH_GA4_BENCH_DIR=/tmp/ga4bench IDGRAPH_GA4_BENCH_ROWS=1000000 \
//	    go test ./load -run TestWriteGA4BenchFiles -v -timeout 30m
//	idgraph load --data /tmp/a --progress=false /tmp/ga4bench/ga4.ndjson
//	idgraph load --data /tmp/b --progress=false /tmp/ga4bench/ours.ndjson
//
// The test also reports the parse-only rate of both files (Reader.Next over
// the whole file), to separate parsing from the engine; when the files are
// there already, it only times them. It is skipped unless
// IDGRAPH_GA4_BENCH_DIR is set; nothing it writes belongs in the repository.
func TestWriteGA4BenchFiles(t *testing.T) {
	dir := os.Getenv("IDGRAPH_GA4_BENCH_DIR")
	if dir == "" {
		t.Skip("set IDGRAPH_GA4_BENCH_DIR to write the GA4 benchmark files")
	}
	rows := 1_000_000
	if s := os.Getenv("IDGRAPH_GA4_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("IDGRAPH_GA4_BENCH_ROWS=%q: want a positive integer", s)
		}
		rows = n
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ga4Path, oursPath := filepath.Join(dir, "ga4.ndjson"), filepath.Join(dir, "ours.ndjson")
	if _, err := os.Stat(oursPath); err == nil {
		t.Logf("%s exists: timing the files already there", oursPath)
	} else if err := writeBenchFiles(ga4Path, oursPath, rows); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{ga4Path, oursPath} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, c, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			n++ // records are not kept: a million of them would time the GC
		}
		c.Close()
		el := time.Since(start)
		t.Logf("parse only, %s: %d rows, %d MiB, %.0f bytes/row, %v: %.0f rows/s, %.0f MiB/s",
			filepath.Base(path), n, st.Size()>>20, float64(st.Size())/float64(n), el.Round(time.Millisecond),
			float64(n)/el.Seconds(), float64(st.Size())/(1<<20)/el.Seconds())
	}
}

// writeBenchFiles writes rows generated GA4 rows to ga4Path and the same
// records in our own shape to oursPath.
func writeBenchFiles(ga4Path, oursPath string, rows int) error {
	if err := writeFile(ga4Path, func(w io.Writer) error { return writeGA4Rows(w, rows, 1) }); err != nil {
		return err
	}
	// Our shape is derived by reading the GA4 file, so both hold exactly the
	// same records.
	return writeFile(oursPath, func(w io.Writer) error {
		r, c, err := Open(ga4Path, Options{Format: FormatGA4})
		if err != nil {
			return err
		}
		defer c.Close()
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := writeOurs(w, rec); err != nil {
				return err
			}
		}
	})
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeOurs writes rec in idgraph's own NDJSON shape, as encoding/json
// writes it (marshalByEncoder).
func writeOurs(w io.Writer, rec Record) error {
	b, err := marshalByEncoder(rec)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// GA4 export row, fields in the export's order. Pointers and RawMessage
// write the nulls the export carries.
type genRow struct {
	EventDate                  string          `json:"event_date"`
	EventTimestamp             string          `json:"event_timestamp"`
	EventName                  string          `json:"event_name"`
	EventParams                []genParam      `json:"event_params"`
	EventPreviousTimestamp     *string         `json:"event_previous_timestamp"`
	EventValueInUSD            *float64        `json:"event_value_in_usd"`
	EventBundleSequenceID      string          `json:"event_bundle_sequence_id"`
	EventServerTimestampOffset string          `json:"event_server_timestamp_offset"`
	UserID                     *string         `json:"user_id"`
	UserPseudoID               string          `json:"user_pseudo_id"`
	PrivacyInfo                genPrivacy      `json:"privacy_info"`
	UserProperties             []genParam      `json:"user_properties"`
	UserFirstTouchTimestamp    string          `json:"user_first_touch_timestamp"`
	UserLTV                    json.RawMessage `json:"user_ltv"`
	Device                     genDevice       `json:"device"`
	Geo                        genGeo          `json:"geo"`
	AppInfo                    json.RawMessage `json:"app_info"`
	TrafficSource              genTraffic      `json:"traffic_source"`
	StreamID                   string          `json:"stream_id"`
	Platform                   string          `json:"platform"`
	EventDimensions            json.RawMessage `json:"event_dimensions"`
	Ecommerce                  json.RawMessage `json:"ecommerce"`
	Items                      json.RawMessage `json:"items"`
	IsActiveUser               bool            `json:"is_active_user"`
}

type genParam struct {
	Key   string   `json:"key"`
	Value genValue `json:"value"`
}

type genValue struct {
	String *string  `json:"string_value"`
	Int    *string  `json:"int_value"`
	Float  *float64 `json:"float_value"`
	Double *float64 `json:"double_value"`
	SetTS  *string  `json:"set_timestamp_micros,omitempty"`
}

type genPrivacy struct {
	Analytics string  `json:"analytics_storage"`
	Ads       string  `json:"ads_storage"`
	Transient *string `json:"uses_transient_token"`
}

type genDevice struct {
	Category      string          `json:"category"`
	Brand         string          `json:"mobile_brand_name"`
	Model         string          `json:"mobile_model_name"`
	Marketing     *string         `json:"mobile_marketing_name"`
	HWModel       *string         `json:"mobile_os_hardware_model"`
	OS            string          `json:"operating_system"`
	OSVersion     string          `json:"operating_system_version"`
	VendorID      *string         `json:"vendor_id"`
	AdvertisingID *string         `json:"advertising_id"`
	Language      string          `json:"language"`
	LimitedAds    string          `json:"is_limited_ad_tracking"`
	TZOffset      *string         `json:"time_zone_offset_seconds"`
	Browser       *string         `json:"browser"`
	BrowserVer    *string         `json:"browser_version"`
	WebInfo       json.RawMessage `json:"web_info"`
}

type genGeo struct {
	City         string `json:"city"`
	Country      string `json:"country"`
	Continent    string `json:"continent"`
	Region       string `json:"region"`
	SubContinent string `json:"sub_continent"`
	Metro        string `json:"metro"`
}

type genTraffic struct {
	Name   string `json:"name"`
	Medium string `json:"medium"`
	Source string `json:"source"`
}

// genUser is one simulated person: a browser, maybe an app install, maybe a
// login.
type genUser struct {
	cookie, app, adID, userID string
	ios, limited              bool
}

// writeGA4Rows writes n GA4 export rows of a population of n/10 people over
// 30 days, deterministic for a seed.
func writeGA4Rows(w io.Writer, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x9a4))
	hex := func(k int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, k)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	users := make([]genUser, max(n/10, 1))
	for i := range users {
		u := &users[i]
		u.cookie = fmt.Sprintf("%d.%d", 1_000_000_000+rng.IntN(1_000_000_000), 1_790_000_000+rng.IntN(3_000_000))
		if rng.IntN(10) < 3 {
			u.app = hex(32)
			u.ios = rng.IntN(2) == 0
			u.adID = hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12)
			u.limited = rng.IntN(5) == 0
		}
		if rng.IntN(10) < 4 {
			u.userID = fmt.Sprintf("C-%07d", i)
		}
	}
	str := func(s string) *string { return &s }
	num := func(f float64) *float64 { return &f }
	names := []string{"page_view", "page_view", "page_view", "user_engagement", "scroll", "session_start", "view_item", "view_item", "add_to_cart", "begin_checkout", "purchase"}
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	step := int64(30*24*time.Hour/time.Microsecond) / int64(n)
	nullEcommerce := json.RawMessage(`{"total_item_quantity":null,"purchase_revenue_in_usd":null,"purchase_revenue":null,"refund_value_in_usd":null,"refund_value":null,"shipping_value_in_usd":null,"shipping_value":null,"tax_value_in_usd":null,"tax_value":null,"unique_items":null,"transaction_id":null}`)
	for i := 0; i < n; i++ {
		u := &users[rng.IntN(len(users))]
		ts := start + int64(i)*step + rng.Int64N(max(step, 1))
		name := names[rng.IntN(len(names))]
		app := u.app != "" && rng.IntN(2) == 0
		session := strconv.FormatInt(ts/1e6-rng.Int64N(1800), 10)
		row := genRow{
			EventDate:                  time.UnixMicro(ts).UTC().Format("20060102"),
			EventTimestamp:             strconv.FormatInt(ts, 10),
			EventName:                  name,
			EventBundleSequenceID:      strconv.Itoa(rng.IntN(1000)),
			EventServerTimestampOffset: strconv.Itoa(rng.IntN(2000)),
			UserPseudoID:               u.cookie,
			PrivacyInfo:                genPrivacy{Analytics: "Yes", Ads: []string{"Yes", "No"}[rng.IntN(2)], Transient: str("No")},
			UserFirstTouchTimestamp:    strconv.FormatInt(start-rng.Int64N(1e13), 10),
			UserLTV:                    json.RawMessage(`{"revenue":0.0,"currency":"EUR"}`),
			Geo:                        genGeo{City: "Oslo", Country: "Norway", Continent: "Europe", Region: "Oslo", SubContinent: "Northern Europe", Metro: "(not set)"},
			AppInfo:                    json.RawMessage("null"),
			TrafficSource:              genTraffic{Name: "(organic)", Medium: "organic", Source: "google"},
			StreamID:                   "1111111111",
			Platform:                   "WEB",
			EventDimensions:            json.RawMessage("null"),
			Ecommerce:                  nullEcommerce,
			Items:                      json.RawMessage("[]"),
			IsActiveUser:               true,
			EventParams: []genParam{
				{"ga_session_id", genValue{Int: str(session)}},
				{"ga_session_number", genValue{Int: str(strconv.Itoa(1 + rng.IntN(40)))}},
				{"engagement_time_msec", genValue{Int: str(strconv.Itoa(rng.IntN(60000)))}},
				{"page_location", genValue{String: str(fmt.Sprintf("https://shop.example/p/%d?utm_source=newsletter", rng.IntN(5000)))}},
				{"page_title", genValue{String: str("Example shop: product page")}},
				{"page_referrer", genValue{String: str("https://www.google.com/")}},
				{"session_engaged", genValue{String: str("1")}},
			},
			Device: genDevice{Category: "desktop", Brand: "Google", Model: "Chrome", OS: "Windows", OSVersion: "Windows 10",
				Language: "nb-no", LimitedAds: "No",
				WebInfo: json.RawMessage(`{"browser":"Chrome","browser_version":"130.0.6723.91","hostname":"shop.example"}`)},
		}
		if u.userID != "" && rng.IntN(10) < 6 {
			row.UserID = str(u.userID)
			row.UserProperties = []genParam{
				{"customer_tier", genValue{String: str([]string{"bronze", "silver", "gold"}[rng.IntN(3)]), SetTS: str(strconv.FormatInt(ts-rng.Int64N(1e9), 10))}},
				{"orders", genValue{Int: str(strconv.Itoa(rng.IntN(20))), SetTS: str(strconv.FormatInt(ts, 10))}},
			}
		}
		if app {
			row.UserPseudoID, row.Platform, row.StreamID = u.app, "ANDROID", "3333333333"
			row.Device = genDevice{Category: "mobile", Brand: "Samsung", Model: "SM-S918B", OS: "Android", OSVersion: "Android 14",
				AdvertisingID: str(u.adID), Language: "nb-no", LimitedAds: "No", TZOffset: str("3600"), WebInfo: json.RawMessage("null")}
			if u.ios {
				row.Platform, row.StreamID = "IOS", "2222222222"
				row.Device.Brand, row.Device.Model, row.Device.OS, row.Device.OSVersion = "Apple", "iPhone", "iOS", "iOS 18.1"
				row.Device.VendorID = str(hex(8) + "-" + hex(4) + "-" + hex(4) + "-" + hex(4) + "-" + hex(12))
			}
			if u.limited {
				row.Device.LimitedAds = "Yes"
			}
			row.AppInfo = json.RawMessage(`{"id":"example.shop","version":"4.2.0","install_store":null,"firebase_app_id":"1:2222:android:abc","install_source":"com.android.vending"}`)
			row.EventParams[3] = genParam{"firebase_screen_class", genValue{String: str("ProductActivity")}}
			row.EventParams[4] = genParam{"firebase_screen_id", genValue{Int: str(strconv.FormatInt(-rng.Int64N(1e18), 10))}}
		}
		switch name {
		case "view_item", "add_to_cart", "begin_checkout", "purchase":
			qty := 1 + rng.IntN(3)
			price := float64(100+rng.IntN(9900)) / 100
			row.EventParams = append(row.EventParams,
				genParam{"currency", genValue{String: str("EUR")}},
				genParam{"value", genValue{Double: num(price * float64(qty))}})
			item := fmt.Sprintf(`[{"item_id":"SKU-%d","item_name":"Product %d","item_brand":"Acme","item_variant":null,"item_category":"Kitchen","item_category2":null,"item_category3":null,"item_category4":null,"item_category5":null,"price_in_usd":%g,"price":%g,"quantity":"%d","item_revenue_in_usd":null,"item_revenue":null,"item_refund_in_usd":null,"item_refund":null,"coupon":null,"affiliation":null,"location_id":null,"item_list_id":null,"item_list_name":null,"item_list_index":null,"promotion_id":null,"promotion_name":null,"creative_name":null,"creative_slot":null,"item_params":[]}]`,
				rng.IntN(5000), rng.IntN(5000), price*1.07, price, qty)
			row.Items = json.RawMessage(item)
			if name == "purchase" {
				row.Ecommerce = json.RawMessage(fmt.Sprintf(`{"total_item_quantity":"%d","purchase_revenue_in_usd":%g,"purchase_revenue":%g,"refund_value_in_usd":null,"refund_value":null,"shipping_value_in_usd":null,"shipping_value":null,"tax_value_in_usd":null,"tax_value":null,"unique_items":"1","transaction_id":"T-%d"}`,
					qty, price*float64(qty)*1.07, price*float64(qty), i))
			}
		}
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
