/** The settings every bench writes: a valid telfm `tracking_settings` (docs/api.md). */
export const TELFM_SETTINGS = {
  tracking_angle: 30,
  tracking_distance: 100,
  tracking_interval: 60,
  on_stop_tracking_interval: 600,
  sleep_mode: 'disabled',
  stop_detection: 'ignition',
};
