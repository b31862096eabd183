import { ApiProperty } from '@nestjs/swagger';
import { Rule } from '../../common/admin-api';

/** `/actuator/registeredServices/{id}`: kept as written too, so a 404 names the id as the client wrote it. */
export class ServiceIdParams {
  @ApiProperty({ type: String })
  @Rule('serviceId', (v) => /^\d{1,15}$/.test(v), 'the service id must be a non-negative integer')
  id: string;

  get number(): number {
    return Number(this.id);
  }
}
