// Time zones by IANA name through Intl (Go's time.LoadLocation), one formatter per zone.
const partsCache = new Map<string, Intl.DateTimeFormat>();

export function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = partsCache.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone === 'Local' ? undefined : zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      timeZoneName: 'short',
    });
    partsCache.set(zone, f);
  }
  return f;
}

/** Whether Intl knows an IANA zone name (time.LoadLocation). */
export function isKnownZone(zone: string): boolean {
  if (zone === 'UTC' || zone === 'Local' || zone === '') return true;
  try {
    zoneFormatter(zone);
    return true;
  } catch {
    return false;
  }
}
