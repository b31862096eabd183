import { BadRequestException } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { Rule } from '../../common/admin-api';

const isServiceId = (v: string) => /^\d{1,15}$/.test(v);
const NOT_A_SERVICE_ID = 'the service id must be a non-negative integer';

/** `/actuator/registeredServices/{id}`: kept as written too, so a 404 names the id as the client wrote it. */
export class ServiceIdParams {
  @ApiProperty({ type: String })
  @Rule('serviceId', isServiceId, NOT_A_SERVICE_ID)
  id: string;

  get number(): number {
    return Number(this.id);
  }
}

/**
 * The path's id as a number, or the same 400 as ServiceIdParams. For PUT, which has always checked
 * the body before the path's id: a request wrong in both is told about its body.
 */
export function serviceIdOf(id: string): number {
  if (!isServiceId(id)) throw new BadRequestException(NOT_A_SERVICE_ID);
  return Number(id);
}
