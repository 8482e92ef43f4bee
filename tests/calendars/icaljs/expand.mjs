// Reads an iCalendar document on stdin; prints JSON: one object per VEVENT with
// its uid, summary, description, categories, and the first N occurrences
// (argv[2], default 10) of its schedule as UTC ISO strings, expanded by ical.js
// (Thunderbird's parser) with the document's own VTIMEZONEs.
import ICAL from "ical.js";

const count = Number(process.argv[2] || 10);
let text = "";
for await (const chunk of process.stdin) text += chunk;

const calendar = new ICAL.Component(ICAL.parse(text));
for (const zone of calendar.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(zone);
}
const events = calendar.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  const occurrences = [];
  const iterator = event.iterator();
  for (let next = iterator.next(); next && occurrences.length < count; next = iterator.next()) {
    occurrences.push(next.toJSDate().toISOString());
  }
  return {
    uid: event.uid,
    summary: event.summary,
    description: event.description,
    categories: component.getAllProperties("categories").flatMap((p) => p.getValues()),
    sequence: event.sequence,
    alarms: component.getAllSubcomponents("valarm").map((a) => String(a.getFirstPropertyValue("trigger"))),
    occurrences,
  };
});
process.stdout.write(JSON.stringify({
  name: calendar.getFirstPropertyValue("x-wr-calname"),
  events,
}));
