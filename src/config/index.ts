/** The collector's configuration and where each PM2 app's log files are. */
export { ConfigSchema, WorkerGroupSchema, defaultConfig, loadConfigFile, pm2FileName, type Config, type WorkerGroup } from './config';
export {
  findAppLogs,
  discoverAppLogs,
  askPm2,
  checkPm2Apps,
  describePm2Apps,
  pm2AppsOf,
  conventionalLogs,
  pm2DaemonRunning,
  pm2HomeOf,
  type AppLogs,
  type Pm2AppsReport,
} from './pm2-logs';
export { readMinerSettings, diffSettings, type Settings } from './miner-settings';
