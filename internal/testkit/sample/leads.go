package sample

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// country is one market with its weight in the population and the local
// details that make its leads look real.
type country struct {
	code   string
	lang   string // the usual language, for preferences.language
	weight int
	phone  string // international prefix
	cities []city
	first  []string
	last   []string
}

type city struct {
	name string
	zip  string // prefix; digits are appended up to 5 characters
}

var countries = []country{
	{"IT", "it", 22, "+39", []city{{"Milano", "201"}, {"Roma", "001"}, {"Torino", "101"}, {"Napoli", "801"}, {"Bologna", "401"}},
		[]string{"Giulia", "Marco", "Francesca", "Luca", "Chiara", "Alessandro", "Sara", "Matteo"},
		[]string{"Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci", "Marino", "Greco"}},
	{"US", "en", 20, "+1", []city{{"New York", "100"}, {"San Francisco", "941"}, {"Austin", "787"}, {"Chicago", "606"}},
		[]string{"Emily", "Michael", "Jessica", "David", "Ashley", "James", "Sarah", "Robert"},
		[]string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Garcia"}},
	{"DE", "de", 12, "+49", []city{{"Berlin", "101"}, {"München", "803"}, {"Hamburg", "203"}, {"Köln", "506"}},
		[]string{"Lukas", "Anna", "Jonas", "Lena", "Felix", "Marie", "Paul", "Sophie"},
		[]string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"}},
	{"FR", "fr", 10, "+33", []city{{"Paris", "750"}, {"Lyon", "690"}, {"Marseille", "130"}},
		[]string{"Camille", "Louis", "Léa", "Hugo", "Manon", "Jules", "Chloé", "Gabriel"},
		[]string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy"}},
	{"ES", "es", 8, "+34", []city{{"Madrid", "280"}, {"Barcelona", "080"}, {"Valencia", "460"}},
		[]string{"Lucía", "Hugo", "Martina", "Pablo", "Sofía", "Daniel", "Paula", "Álvaro"},
		[]string{"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"}},
	{"GB", "en", 10, "+44", []city{{"London", "EC1"}, {"Manchester", "M1 "}, {"Edinburgh", "EH1"}},
		[]string{"Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Mia"},
		[]string{"Taylor", "Davies", "Evans", "Wilson", "Thomas", "Roberts", "Walker", "Wright"}},
	{"BR", "pt", 6, "+55", []city{{"São Paulo", "010"}, {"Rio de Janeiro", "200"}},
		[]string{"Ana", "João", "Beatriz", "Pedro", "Larissa", "Rafael"},
		[]string{"Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira"}},
	{"IN", "en", 7, "+91", []city{{"Bengaluru", "560"}, {"Mumbai", "400"}, {"Delhi", "110"}},
		[]string{"Aarav", "Priya", "Vivaan", "Ananya", "Arjun", "Diya"},
		[]string{"Sharma", "Patel", "Singh", "Kumar", "Gupta", "Reddy"}},
	{"JP", "ja", 5, "+81", []city{{"Tokyo", "100"}, {"Osaka", "530"}},
		[]string{"Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi"},
		[]string{"Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito"}},
}

var (
	companies   = []string{"BigCo", "Acme Srl", "Globex", "Initech", "Umbrella GmbH", "Stark Industries", "Wayne Enterprises", "Hooli", "Pied Piper", "Vandelay Industries", "Tiledesk"}
	freeDomains = []string{"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "libero.it", "icloud.com"}
	sources     = []any{"google", "facebook", "linkedin", "referral", "organic", "newsletter", nil}
	versions    = []string{"1.4.2", "1.9.0", "2.0.0", "2.0.1", "2.1.0", "2.1.0", "2.1.3", "2.2.0-beta.1", "2.2.0", "2.2.0", "3.0.0-rc.1", "v2.1.0", "2.1"}
	platforms   = []string{"ios", "android", "web", "web"}
	retailSKUs  = []string{"RT-MUG", "RT-TSHIRT", "RT-HOODIE", "RT-CAP", "RT-POSTER"}
	wholesale   = []string{"WH-MUG-BOX", "WH-TSHIRT-BOX", "WH-PALLET"}
)

// tagOdds: each tag's chance in percent of being on a lead.
var tagOdds = []struct {
	tag  string
	odds int
}{
	{"newsletter", 40}, {"trial", 20}, {"beta", 15}, {"vip", 12}, {"early-access", 8},
	{"churned", 7}, {"wholesale", 6}, {"partner", 5}, {"blocked", 2},
}

// gen draws leads from one PCG stream.
type gen struct {
	r   *rand.Rand
	now time.Time
}

func (g *gen) pct(p int) bool         { return g.r.IntN(100) < p }
func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

func (g *gen) country() country {
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	n := g.r.IntN(total)
	for _, c := range countries {
		if n < c.weight {
			return c
		}
		n -= c.weight
	}
	return countries[0]
}

// ago is a time between lo and hi days before now, at a whole second.
func (g *gen) ago(lo, hi int) time.Time {
	secs := int64(lo)*86400 + g.r.Int64N(int64(hi-lo)*86400)
	return g.now.Add(-time.Duration(secs) * time.Second)
}

// leads yields n leads.
func (g *gen) leads(n int) iter.Seq[Object] {
	return func(yield func(Object) bool) {
		for i := 0; i < n; i++ {
			if !yield(g.lead(i)) {
				return
			}
		}
	}
}

// lead builds one Tiledesk-like lead. Shapes vary on purpose: numbers
// stored as numeric strings by forms, dates in every accepted format,
// null versus missing, empty strings, arrays and objects.
func (g *gen) lead(i int) Object {
	c := g.country()
	first, last := g.pick(c.first), g.pick(c.last)
	fullname := first + " " + last
	switch {
	case g.pct(3):
		fullname = "Dr. " + fullname
	case g.pct(2):
		fullname = "Test User " + strconv.Itoa(i)
	}
	created := g.ago(0, 3*365)

	o := Object{{"_id", g.hex(24)}}
	if !g.pct(4) {
		o = append(o, KV{"lead_id", g.leadID()})
	}
	o = append(o, KV{"fullname", fullname})

	var company string
	if g.pct(60) {
		company = g.pick(companies)
	}
	if !g.pct(3) {
		o = append(o, KV{"email", g.email(first, last, company, i)})
	}
	switch {
	case g.pct(10):
		o = append(o, KV{"phone", ""})
	case g.pct(5):
		// no phone key at all
	default:
		o = append(o, KV{"phone", fmt.Sprintf("%s %d%08d", c.phone, 3+g.r.IntN(6), g.r.IntN(100000000))})
	}
	switch {
	case company != "":
		o = append(o, KV{"company", company})
	case g.pct(60):
		o = append(o, KV{"company", ""})
	}
	ct := c.cities[g.r.IntN(len(c.cities))]
	o = append(o, KV{"city", ct.name}, KV{"country", c.code})
	o = append(o, KV{"tags", g.tags()})
	o = append(o, KV{"createdAt", created.Format("2006-01-02T15:04:05.000Z07:00")})

	orders := g.orders(created)
	o = append(o, KV{"attributes", g.attributes(c, ct, orders)})
	o = append(o, KV{"properties", g.properties()})
	if orders != nil {
		o = append(o, KV{"orders", orders})
	}
	return o
}

func (g *gen) leadID() string {
	switch g.r.IntN(3) {
	case 0:
		return "wab-" + g.hex(12)
	case 1:
		return fmt.Sprintf("%s-%s-%s-%s-%s", g.hex(8), g.hex(4), g.hex(4), g.hex(4), g.hex(12))
	}
	return "support-group-" + g.hex(16)
}

func (g *gen) email(first, last, company string, i int) string {
	local := strings.ToLower(ascii(first) + "." + ascii(last))
	if g.pct(30) {
		local += strconv.Itoa(g.r.IntN(100))
	}
	var domain string
	if company != "" && g.pct(70) {
		domain = strings.ToLower(ascii(strings.Fields(company)[0])) + ".com"
	} else {
		domain = g.pick(freeDomains)
	}
	if g.pct(5) {
		domain = strings.ToUpper(domain) // typed on a phone, caps lock on
	}
	return local + "@" + domain
}

// ascii drops accents so that generated e-mail addresses are plausible.
func ascii(s string) string {
	r := strings.NewReplacer("à", "a", "á", "a", "ã", "a", "Á", "A", "è", "e", "é", "e", "í", "i",
		"ó", "o", "ö", "o", "ú", "u", "ü", "u", "ç", "c", "ñ", "n")
	return r.Replace(s)
}

func (g *gen) tags() []string {
	tags := []string{}
	for _, t := range tagOdds {
		if g.pct(t.odds) {
			tags = append(tags, t.tag)
		}
	}
	return tags
}

// orders is nil (no "orders" key) for a third of the leads, else 0 to 6
// orders placed after the lead was created.
func (g *gen) orders(created time.Time) []Object {
	if g.pct(33) {
		return nil
	}
	n := g.r.IntN(7)
	out := make([]Object, 0, n)
	span := g.now.Sub(created)
	for range n {
		var sku string
		var qty int
		var price float64
		if g.pct(15) {
			sku, qty, price = g.pick(wholesale), 5+g.r.IntN(96), 40+g.r.Float64()*200
		} else {
			sku, qty, price = g.pick(retailSKUs), 1+g.r.IntN(4), 9+g.r.Float64()*60
		}
		date := created.Add(time.Duration(g.r.Int64N(int64(span)/int64(time.Second)+1)) * time.Second)
		out = append(out, Object{
			{"sku", sku}, {"qty", qty}, {"price", math.Round(price*100) / 100},
			{"date", date.Format(time.RFC3339)},
		})
	}
	return out
}

func (g *gen) attributes(c country, ct city, orders []Object) Object {
	a := Object{}
	switch {
	case g.pct(70):
		a = append(a, KV{"age", 18 + g.r.IntN(58)})
	case g.pct(50):
		a = append(a, KV{"age", strconv.Itoa(18 + g.r.IntN(58))}) // a form stored "34"
	case g.pct(40):
		a = append(a, KV{"age", nil})
	}
	if g.pct(90) {
		a = append(a, KV{"score", g.r.IntN(101)})
	}
	if g.pct(85) {
		a = append(a, KV{"newsletter", g.pct(45)})
	}
	switch n := g.r.IntN(100); {
	case n < 60:
		a = append(a, KV{"gdpr_consent", true})
	case n < 80:
		a = append(a, KV{"gdpr_consent", false})
	case n < 95:
		a = append(a, KV{"gdpr_consent", nil})
	}

	count := len(orders)
	var ltv float64
	var last time.Time
	for _, o := range orders {
		q, _ := o.Get("qty")
		p, _ := o.Get("price")
		ltv += float64(q.(int)) * p.(float64)
		d, _ := o.Get("date")
		t, _ := time.Parse(time.RFC3339, d.(string))
		if t.After(last) {
			last = t
		}
	}
	if orders == nil && g.pct(50) {
		count = g.r.IntN(4) // orders placed before the order history was imported
		ltv = float64(count) * (10 + g.r.Float64()*50)
		if count > 0 {
			last = g.ago(200, 900)
		}
	}
	if g.pct(12) {
		a = append(a, KV{"orders_count", strconv.Itoa(count)})
	} else {
		a = append(a, KV{"orders_count", count})
	}
	a = append(a, KV{"lifetime_value", math.Round(ltv*100) / 100})
	switch {
	case !last.IsZero():
		a = append(a, KV{"last_order_at", g.dateIn(last)})
	case g.pct(50):
		a = append(a, KV{"last_order_at", nil})
	}
	if g.pct(50) {
		renew := g.now.AddDate(0, 0, -30+g.r.IntN(150))
		a = append(a, KV{"renewal_date", renew.Format("2006-01-02")})
	}
	if g.pct(70) {
		zip := ct.zip
		for len(zip) < 5 {
			zip += strconv.Itoa(g.r.IntN(10))
		}
		a = append(a, KV{"address", Object{
			{"street", fmt.Sprintf("%d %s", 1+g.r.IntN(200), g.pick([]string{"Main St", "Via Roma", "Hauptstraße", "Rue de la Paix", "Calle Mayor", "High Street"}))},
			{"zip", zip},
			{"city", ct.name},
		}})
	}
	a = append(a, KV{"source", sources[g.r.IntN(len(sources))]})
	switch n := g.r.IntN(10); {
	case n < 3:
		a = append(a, KV{"preferences", Object{}})
	case n < 7:
		a = append(a, KV{"preferences", Object{{"channel", g.pick([]string{"email", "sms", "whatsapp"})}, {"language", c.lang}}})
	}
	switch n := g.r.IntN(10); {
	case n < 5:
		a = append(a, KV{"notes", ""})
	case n < 7:
		a = append(a, KV{"notes", g.pick([]string{"Asked for a demo", "Prefers phone calls", "Met at the Milan fair", "Wants an invoice in EUR", "Complained about shipping"})})
	}
	return a
}

// dateIn writes t in one of the date formats docs/semantics.md accepts, as
// real data mixes them: RFC 3339 with milliseconds, without a zone, a bare
// day, or epoch milliseconds.
func (g *gen) dateIn(t time.Time) any {
	switch n := g.r.IntN(100); {
	case n < 40:
		return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	case n < 65:
		return t.UTC().Format("2006-01-02")
	case n < 85:
		return t.UTC().Format("2006-01-02T15:04:05")
	default:
		return t.UnixMilli()
	}
}

func (g *gen) properties() Object {
	p := Object{}
	if !g.pct(15) {
		p = append(p, KV{"app_version", g.pick(versions)})
	}
	switch n := g.r.IntN(100); {
	case n < 10:
		p = append(p, KV{"ip", fmt.Sprintf("10.20.%d.%d", g.r.IntN(256), 1+g.r.IntN(254))}) // office LAN
	case n < 15:
		p = append(p, KV{"ip", fmt.Sprintf("2001:db8:42:%x::%x", g.r.IntN(65536), 1+g.r.IntN(65535))}) // office IPv6
	case n < 25:
		p = append(p, KV{"ip", fmt.Sprintf("2a00:%x:%x::%x", g.r.IntN(65536), g.r.IntN(65536), 1+g.r.IntN(65535))})
	case n < 95:
		p = append(p, KV{"ip", fmt.Sprintf("%d.%d.%d.%d", 11+g.r.IntN(180), g.r.IntN(256), g.r.IntN(256), 1+g.r.IntN(254))})
	}
	tier := "free"
	switch n := g.r.IntN(100); {
	case n < 15:
		tier = "enterprise"
	case n < 45:
		tier = "pro"
	}
	p = append(p, KV{"plan", Object{{"tier", tier}, {"seats", 1 + g.r.IntN(50)}}})
	p = append(p, KV{"platform", g.pick(platforms)})
	return p
}
